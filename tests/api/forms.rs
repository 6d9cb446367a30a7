//! The agreement form's sections: a completely filled IOP form yields an agreement the `iop`
//! document needs nothing more for, the repeating groups grow with "Lägg till rad" without
//! saving, blank rows are ignored, and a row's error shows next to that row's input.

#![expect(clippy::unwrap_used, reason = "a test reports a failure by panicking")]

use avtal::documents::manifest::Catalog;
use avtal::documents::missing_fields;
use avtal::domain::access::Role;
use avtal::domain::agreement::Agreement;

use crate::helpers::{OFFICER_ORG, TestApp};

/// Every section of the IOP form filled in, as an officer of Haninge would.
pub fn complete_iop_form(reference: &str) -> Vec<(&'static str, String)> {
    [
        ("reference", reference),
        ("kind", "iop"),
        ("title", "Läxhjälp för unga i Haninge"),
        ("diarienummer", "SN 2026/0412"),
        ("decision.body", "Socialnämnden Haninge"),
        ("decision.date", "2026-11-18"),
        ("decision.paragraph", "§ 92"),
        ("legal_basis", "iop"),
        ("signed_on", "2026-12-01"),
        ("buyer", OFFICER_ORG),
        ("partner", "769990-0077"),
        ("contacts.owner", "sara.nystrom@haninge.example"),
        ("contacts.partner", "jenny@solrosen.example"),
        ("contacts.signatories[0]", "sara.nystrom@haninge.example"),
        ("contacts.signatories[1]", "jenny@solrosen.example"),
        ("period.start", "2027-01-01"),
        ("period.original_end", "2028-12-31"),
        ("value.amount_sek", "300000"),
        ("value.basis", "per_year"),
        (
            "iop.background",
            "Många unga i Haninge lämnar grundskolan utan godkända betyg.",
        ),
        ("iop.purpose", "Fler unga klarar skolan"),
        (
            "iop.value_base",
            "Alla unga har rätt till en meningsfull fritid och stöd i skolan.",
        ),
        (
            "iop.partner_value_base",
            "Föreningens stadgar om ideellt engagemang.",
        ),
        ("iop.target_group", "Elever i årskurs 7–9 i Haninge"),
        ("iop.goals[0].text", "50 elever per termin får läxhjälp"),
        ("iop.goals[0].indicator", "antal elever per termin"),
        ("iop.goals[1].text", "Fler godkända betyg i matematik"),
        ("iop.activities[0].party", "partner"),
        ("iop.activities[0].text", "Läxhjälp två kvällar i veckan"),
        ("iop.activities[0].min_volume", "minst 60 tillfällen per år"),
        ("iop.activities[1].party", "buyer"),
        ("iop.activities[1].text", "Upplåter lokaler i skolan"),
        ("iop.contributions[0].party", "buyer"),
        ("iop.contributions[0].kind", "money"),
        ("iop.contributions[0].amount_sek", "300000"),
        ("iop.contributions[0].per", "år"),
        ("iop.contributions[0].text", "Bidrag till samordning"),
        ("iop.contributions[1].party", "partner"),
        ("iop.contributions[1].kind", "volunteer_hours"),
        ("iop.contributions[1].text", "Ideella läxhjälpare"),
        (
            "iop.governance",
            "Styrgrupp med två personer från varje part, möts varje kvartal.",
        ),
        ("iop.legal_assessment.date", "2026-11-01"),
        ("iop.legal_assessment.by", "Kommunjurist Haninge"),
        (
            "iop.legal_assessment.conclusion",
            "Ingen ersättning för tjänster på en marknad: IOP är tillåtet.",
        ),
        ("options[0].months", "12"),
        ("options[0].decided_by", "mutual"),
        ("options[0].notice_months", "6"),
        ("termination.notice_months", "3"),
        ("termination.effective", "month_end"),
        ("termination.form", "skriftligen"),
        ("renewal_dialogue.months_before_end", "9"),
        ("iop.changes", "Ändringar görs skriftligen av båda parter."),
        ("value.estimated_total_sek", "600000"),
        ("reporting[0].recipient", "sara.nystrom@haninge.example"),
        ("reporting[0].kind", "annual_report"),
        ("reporting[0].recurrence", "yearly"),
        ("reporting[0].first_period_end", "2027-12-31"),
        ("reporting[0].due_offset_days", "60"),
        ("reporting[0].grace_days", "10"),
        ("reporting[0].responsible", "partner"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

async fn post_new(
    officer: &reqwest::Client,
    app: &TestApp,
    form: &[(&str, String)],
) -> (u16, String) {
    let r = officer
        .post(format!("{}/agreements/new", app.address))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn a_completely_filled_iop_form_yields_an_agreement_the_iop_document_can_be_made_from(
    app: TestApp,
) {
    app.load_examples().await;
    let officer = app.client_for(Role::Officer).await;
    let mut form = complete_iop_form("AGR-2027-0400");
    // A blank third goal and a blank second option row are left out.
    form.push(("iop.goals[2].text", "  ".into()));
    form.push(("options[1].months", String::new()));
    form.push(("options[1].decided_by", "buyer".into()));
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 303, "{page}");
    let body = app.agreement("AGR-2027-0400").await.body["agreement"].clone();
    let a: Agreement = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(a.diarienummer.as_deref(), Some("SN 2026/0412"));
    assert_eq!(
        a.decision.as_ref().unwrap().paragraph.as_deref(),
        Some("§ 92")
    );
    let iop = a.iop.as_ref().unwrap();
    assert_eq!(iop.goals.len(), 2);
    assert_eq!(
        iop.goals[0].indicator.as_deref(),
        Some("antal elever per termin")
    );
    assert_eq!(iop.activities[0].party.to_string(), "769990-0077");
    assert_eq!(iop.activities[1].party.to_string(), OFFICER_ORG);
    assert_eq!(body["iop"]["contributions"][0]["amount_sek"], "300000.00");
    assert_eq!(body["iop"]["contributions"][1]["kind"], "volunteer_hours");
    assert_eq!(a.contacts.signatories.len(), 2);
    assert_eq!(a.options.len(), 1);
    assert_eq!(a.options[0].notice_months, Some(6));
    assert_eq!(a.termination.as_ref().unwrap().notice_months, 3);
    assert_eq!(
        a.termination.as_ref().unwrap().form.as_deref(),
        Some("skriftligen")
    );
    assert_eq!(body["termination"]["effective"], "month_end");
    assert_eq!(body["renewal_dialogue"]["months_before_end"], 9);
    assert_eq!(body["value"]["estimated_total_sek"], "600000.00");
    assert_eq!(
        body["reporting"][0]["recipient"],
        "sara.nystrom@haninge.example"
    );
    assert_eq!(
        iop.changes.as_deref(),
        Some("Ändringar görs skriftligen av båda parter.")
    );
    assert_eq!(a.reporting[0].responsible.to_string(), "769990-0077");
    assert_eq!(a.reporting[0].due_offset_days, 60);
    let catalog = Catalog::builtin().unwrap();
    let iop_template = catalog.get("iop").unwrap();
    assert_eq!(
        missing_fields(&a, &iop_template.manifest.required)
            .iter()
            .map(|m| m.field.clone())
            .collect::<Vec<_>>(),
        Vec::<String>::new()
    );
    // The edit form shows every section filled in as saved.
    let r = officer
        .get(format!("{}/agreements/AGR-2027-0400/edit", app.address))
        .send()
        .await
        .unwrap();
    let edit = r.text().await.unwrap();
    for shown in [
        "value=\"SN 2026&#x2F;0412\"",
        "value=\"§ 92\"",
        "value=\"antal elever per termin\"",
        "value=\"Läxhjälp två kvällar i veckan\"",
        "<option value=\"volunteer_hours\" selected>Ideella timmar</option>",
        "<option value=\"mutual\" selected>Parterna gemensamt</option>",
        "value=\"jenny@solrosen.example\"",
        "Kommunjurist Haninge",
    ] {
        assert!(edit.contains(shown), "{shown} missing on the edit form");
    }
}

async fn add_row_shows_one_more_blank_row_keeps_what_was_typed_and_saves_nothing(app: TestApp) {
    app.load_examples().await;
    let officer = app.client_for(Role::Officer).await;
    let mut form = complete_iop_form("AGR-2027-0401");
    form.push(("rows.goals", "3".into()));
    form.push(("add", "goals".into()));
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"iop.goals[3].text\""), "a fourth row");
    assert!(!page.contains("name=\"iop.goals[4].text\""));
    assert!(page.contains("value=\"Fler godkända betyg i matematik\""));
    assert!(page.contains("value=\"Kommunjurist Haninge\""));
    assert!(!page.contains("class=\"error\""), "no errors on a new row");
    assert!(page.contains("Lägg till rad"));
    assert_eq!(
        app.agreement("AGR-2027-0401").await.status,
        404,
        "nothing saved"
    );
}

async fn an_error_in_a_row_shows_next_to_that_rows_input_in_swedish(app: TestApp) {
    app.load_examples().await;
    let officer = app.client_for(Role::Officer).await;
    let mut form = complete_iop_form("AGR-2027-0402");
    // The second option: zero months (a registry rule) and a typo in its notice (a typing error).
    form.push(("options[1].months", "0".into()));
    form.push(("options[1].notice_months", "sex".into()));
    form.push(("iop.contributions[2].amount_sek", "mycket".into()));
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 422, "{page}");
    let at = |id: &str| {
        page.split(&format!("id=\"e-{id}\">"))
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(at("options-1-notice_months"), "Skriv ett heltal, t.ex. 12.");
    assert_eq!(
        at("iop-contributions-2-amount_sek"),
        "Skriv ett belopp i kronor, t.ex. 250000 eller 250000,50."
    );
    assert!(page.contains("value=\"sex\""), "what was typed is kept");
    assert!(
        page.contains("href=\"#f-options-1-notice_months\""),
        "the summary links to the input"
    );
    // Fix the typing errors: the registry's own rule on options[1].months lands at that input.
    form.retain(|(k, _)| {
        *k != "options[1].notice_months" && *k != "iop.contributions[2].amount_sek"
    });
    form.push(("options[1].notice_months", "6".into()));
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 422, "{page}");
    let months = page
        .split("id=\"e-options-1-months\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_default();
    assert_eq!(months, "Värdet måste vara minst 1.");
    assert!(page.contains("name=\"options[1].months\" value=\"0\""));
    assert_eq!(app.agreement("AGR-2027-0402").await.status, 404);
}

async fn a_procurement_form_sets_eforms_codes_and_social_clauses_with_swedish_choices(
    app: TestApp,
) {
    app.load_examples().await;
    let officer = app.client_for(Role::Officer).await;
    let r = officer
        .get(format!(
            "{}/agreements/new?kind=procurement_contract",
            app.address
        ))
        .send()
        .await
        .unwrap();
    let blank = r.text().await.unwrap();
    for choice in [
        "<option value=\"opp\">Sysselsättning för personer långt från arbetsmarknaden</option>",
        "<option value=\"res-ws\">Reserverat för skyddade verkstäder och sociala företag (res-ws)</option>",
        "<option value=\"contractPerformanceConditions\">Särskilt kontraktsvillkor</option>",
        "Sociala mål (soc-obj)</label>",
    ] {
        assert!(blank.contains(choice), "{choice} missing");
    }
    let mut form: Vec<(&str, String)> = [
        ("reference", "AGR-2027-0500"),
        ("kind", "procurement_contract"),
        ("title", "Lokalvård med sysselsättningskrav"),
        ("legal_basis", "lou_4_18_1"),
        ("procedure_type", "open"),
        ("buyer", OFFICER_ORG),
        ("partner", crate::helpers::ENTERPRISE_ORG),
        ("period.start", "2027-04-01"),
        ("period.original_end", "2029-03-31"),
        ("value.amount_sek", "1200000"),
        ("value.basis", "per_year"),
        ("social_clauses[0].lou_basis", "lou_17_1"),
        ("social_clauses[0].objective", "opp"),
        (
            "social_clauses[0].strategy",
            "contractPerformanceConditions",
        ),
        (
            "social_clauses[0].target",
            "Tre anställningar av personer långt från arbetsmarknaden",
        ),
        ("social_clauses[0].target_value", "3"),
        ("social_clauses[0].target_unit", "anställningar per år"),
        ("social_clauses[0].follow_up", "Årlig redovisning"),
        ("options[0].months", "12"),
        ("options[0].decided_by", "buyer"),
        ("options[0].decide_by", "2028-12-31"),
        ("eforms.bt_23", "services"),
        ("eforms.cpv", "90910000"),
        ("framework", "AGR-2024-0003"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    // Reserved participation without its codes: each rule at its own input.
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 422, "{page}");
    let at = |id: &str| {
        page.split(&format!("id=\"e-{id}\">"))
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        at("eforms-bt_71"),
        "LOU 4 kap. 18 § 1 p. kräver eForms-koden BT-71 res-ws."
    );
    assert_eq!(at("framework"), "Bara ett avrop anger ett ramavtal.");
    assert!(
        at("share_requirement_percent").contains("minst 30 %"),
        "{page}"
    );
    assert_eq!(
        at("eforms-bt_06"),
        "Ett socialt mål (BT-775) kräver strategisk upphandling BT-06 soc-obj."
    );
    assert!(page.contains("value=\"Tre anställningar av personer långt från arbetsmarknaden\""));
    assert!(page.contains("<option value=\"opp\" selected>"));
    form.retain(|(k, _)| *k != "framework");
    form.push(("eforms.bt_71", "res-ws".into()));
    form.push(("eforms.bt_06", "soc-obj".into()));
    form.push(("share_requirement_percent", "30".into()));
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 303, "{page}");
    let a = app.agreement("AGR-2027-0500").await.body["agreement"].clone();
    assert_eq!(a["eforms"]["bt_71"], "res-ws");
    assert_eq!(a["eforms"]["bt_06"], serde_json::json!(["soc-obj"]));
    assert_eq!(a["share_requirement_percent"], 30);
    assert_eq!(a["procedure_type"], "open");
    assert_eq!(a["eforms"]["bt_23"], "services");
    assert_eq!(a["eforms"]["cpv"], "90910000");
    assert_eq!(a["social_clauses"][0]["objective"], "opp");
    assert_eq!(a["social_clauses"][0]["target_value"], 3.0);
    assert_eq!(a["options"][0]["decide_by"], "2028-12-31");
}

async fn a_nul_typed_into_the_form_shows_the_form_again_with_the_error_at_that_input(app: TestApp) {
    app.load_examples().await;
    let officer = app.client_for(Role::Officer).await;
    let at = |page: &str, id: &str| {
        page.split(&format!("id=\"e-{id}\">"))
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or_default()
            .to_owned()
    };
    let nul = "Texten får inte innehålla tecknet NUL (U+0000). Ta bort det och försök igen.";
    // A new agreement: the form again, 422, the error at the title, the rest kept, nothing saved.
    let mut form = complete_iop_form("AGR-2027-0403");
    form.retain(|(k, _)| *k != "title");
    form.push(("title", "Läxhjälp\u{0} för unga".into()));
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 422, "{page}");
    assert_eq!(at(&page, "title"), nul, "{page}");
    assert!(page.contains("value=\"Läxhjälp för unga\""), "{page}");
    assert!(page.contains("value=\"Kommunjurist Haninge\""));
    assert!(!page.contains('\u{0}'));
    assert_eq!(app.agreement("AGR-2027-0403").await.status, 404);

    // Editing: a NUL in a row's text lands at that row's input, and the agreement is unchanged.
    let form = complete_iop_form("AGR-2027-0403");
    let (status, page) = post_new(&officer, &app, &form).await;
    assert_eq!(status, 303, "{page}");
    let before = app.agreement("AGR-2027-0403").await.body;
    let mut edit = form.clone();
    edit.retain(|(k, _)| *k != "iop.goals[1].text");
    edit.push(("iop.goals[1].text", "Fler\u{0} godkända betyg".into()));
    let r = officer
        .post(format!("{}/agreements/AGR-2027-0403/edit", app.address))
        .form(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().await.unwrap();
    assert_eq!(at(&page, "iop-goals-1-text"), nul, "{page}");
    assert!(
        page.contains("href=\"#f-iop-goals-1-text\""),
        "the summary links to it"
    );
    assert_eq!(app.agreement("AGR-2027-0403").await.body, before);
}

crate::on_both_backends!(
    a_nul_typed_into_the_form_shows_the_form_again_with_the_error_at_that_input,
    a_procurement_form_sets_eforms_codes_and_social_clauses_with_swedish_choices,
    a_completely_filled_iop_form_yields_an_agreement_the_iop_document_can_be_made_from,
    add_row_shows_one_more_blank_row_keeps_what_was_typed_and_saves_nothing,
    an_error_in_a_row_shows_next_to_that_rows_input_in_swedish,
);
