//! Organisation and contact use cases: register and replace, each validated and written with
//! its audit entry in one transaction.

use std::collections::HashMap;

use sea_orm::DatabaseTransaction;

use super::{Registry, RegistryError, invalid_if_any};
use crate::db::audit::{self, NewEntry};
use crate::db::{self, store, store::StoreError, store::Stored};
use crate::domain::audit::Action;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{
    Contact, EmailAddress, Organisation, Violation, validate_contact, validate_organisation,
};

impl Registry {
    /// A page of the organisations by number, with the total.
    pub async fn organisations(
        &self,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<Stored<Organisation>>, u64), RegistryError> {
        Ok(store::list_organisations(&self.db, limit, offset).await?)
    }

    /// One organisation.
    pub async fn organisation(
        &self,
        key: &OrgNumber,
    ) -> Result<Stored<Organisation>, RegistryError> {
        Ok(store::get_organisation(&self.db, key).await?)
    }

    /// The organisations with these numbers (unknown numbers are left out), in one query per 500.
    pub async fn organisations_by_number(
        &self,
        numbers: &[OrgNumber],
    ) -> Result<HashMap<OrgNumber, Organisation>, RegistryError> {
        Ok(store::organisations_by_number(&self.db, numbers).await?)
    }

    /// A page of the contacts, of one organisation or all, with the total.
    pub async fn contacts(
        &self,
        org: Option<&OrgNumber>,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<Stored<Contact>>, u64), RegistryError> {
        Ok(store::list_contacts(&self.db, org, limit, offset).await?)
    }

    /// One contact.
    pub async fn contact(&self, key: &EmailAddress) -> Result<Stored<Contact>, RegistryError> {
        Ok(store::get_contact(&self.db, key).await?)
    }

    /// Registers an organisation.
    pub async fn create_organisation(
        &self,
        o: Organisation,
    ) -> Result<Stored<Organisation>, RegistryError> {
        let tx = db::begin_write(&self.db).await?;
        let (stored, entry) = self.save_organisation_in(&tx, None, 0, &o).await?;
        audit::record(&tx, entry).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces an organisation at `version`.
    pub async fn update_organisation(
        &self,
        key: &OrgNumber,
        version: i32,
        o: Organisation,
    ) -> Result<Stored<Organisation>, RegistryError> {
        invalid_if_any(validate_organisation(&o))?;
        let tx = db::begin_write(&self.db).await?;
        let before = store::get_organisation(&tx, key).await?;
        let (stored, entry) = self
            .save_organisation_in(&tx, Some(&before), version, &o)
            .await?;
        audit::record(&tx, entry).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The one home of the organisation rules, for the API, the pages and the import: checks
    /// `o` and writes it in `tx`, inserted when `current` is `None`, else replacing `current` at
    /// `version`. Returns it as stored with its audit entry, for the caller to record.
    pub(crate) async fn save_organisation_in(
        &self,
        tx: &DatabaseTransaction,
        current: Option<&Stored<Organisation>>,
        version: i32,
        o: &Organisation,
    ) -> Result<(Stored<Organisation>, NewEntry), RegistryError> {
        invalid_if_any(validate_organisation(o))?;
        let (stored, action) = match current {
            Some(cur) => (
                store::update_organisation(tx, &cur.data.org_number, version, o).await?,
                Action::OrganisationUpdate,
            ),
            None => (
                store::insert_organisation(tx, o).await?,
                Action::OrganisationCreate,
            ),
        };
        let entry = NewEntry::change(
            &self.actor,
            action,
            stored.data.org_number.as_str(),
            current.map(|c| &c.data),
            Some(&stored.data),
        )?;
        Ok((stored, entry))
    }

    /// Registers a contact.
    pub async fn create_contact(&self, c: Contact) -> Result<Stored<Contact>, RegistryError> {
        let tx = db::begin_write(&self.db).await?;
        let (stored, entry) = self.save_contact_in(&tx, None, 0, &c).await?;
        audit::record(&tx, entry).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces a contact at `version`.
    pub async fn update_contact(
        &self,
        key: &EmailAddress,
        version: i32,
        c: Contact,
    ) -> Result<Stored<Contact>, RegistryError> {
        invalid_if_any(validate_contact(&c))?;
        let tx = db::begin_write(&self.db).await?;
        let before = store::get_contact(&tx, key).await?;
        let (stored, entry) = self
            .save_contact_in(&tx, Some(&before), version, &c)
            .await?;
        audit::record(&tx, entry).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The one home of the contact rules, for the API, the pages and the import: checks `c`
    /// (its organisation must be registered) and writes it in `tx`, inserted when `current` is
    /// `None`, else replacing `current` at `version`. Returns it as stored with its audit entry.
    pub(crate) async fn save_contact_in(
        &self,
        tx: &DatabaseTransaction,
        current: Option<&Stored<Contact>>,
        version: i32,
        c: &Contact,
    ) -> Result<(Stored<Contact>, NewEntry), RegistryError> {
        invalid_if_any(validate_contact(c))?;
        let (stored, action) = match current {
            Some(cur) => (
                store::update_contact(tx, &cur.data.email, version, c).await,
                Action::ContactUpdate,
            ),
            None => (store::insert_contact(tx, c).await, Action::ContactCreate),
        };
        let stored = stored.map_err(|e| unknown_org_as_violation(e, &c.organisation))?;
        let entry = NewEntry::change(
            &self.actor,
            action,
            stored.data.email.as_str(),
            current.map(|c| &c.data),
            Some(&stored.data),
        )?;
        Ok((stored, entry))
    }
}

fn unknown_org_as_violation(e: StoreError, org: &OrgNumber) -> RegistryError {
    match e {
        StoreError::NotFound {
            what: "organisation",
            ..
        } => Violation::new(
            "organisation",
            org,
            "unknown_organisation",
            "no organisation with this number is registered",
        )
        .into(),
        other => other.into(),
    }
}
