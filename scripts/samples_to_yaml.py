#!/usr/bin/env python3
"""Writes contracts/examples/*.yaml from ../shared/samples/agreements.json.

The shared samples use their own ids and field names; this maps them onto the registry file format
(docs/format.md). Where the registry's rules need a fact the sample leaves out (an active IOP's
decision and legal assessment, IOP details, the 30 % share of a 4:18 p.1 contract), a value marked
"(sample)" is filled in, so every example passes the same rules as user input. Run it again when
the samples change: python3 scripts/samples_to_yaml.py ../shared/samples/agreements.json
"""

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "contracts" / "examples"


def q(s):
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(s), ensure_ascii=False)


def emit(v, indent=0):
    """Block-style YAML for dicts and lists of plain values; keeps key order."""
    pad = "  " * indent
    lines = []
    if isinstance(v, dict):
        for k, x in v.items():
            if x is None:
                continue
            if isinstance(x, list) and x and all(isinstance(y, str) for y in x) and k == "indicators":
                lines.append(f"{pad}{k}: [{', '.join(scalar(y) for y in x)}]")
            elif isinstance(x, (dict, list)):
                if not x:
                    lines.append(f"{pad}{k}: {'{}' if isinstance(x, dict) else '[]'}")
                else:
                    lines.append(f"{pad}{k}:")
                    lines.extend(emit(x, indent + 1))
            else:
                lines.append(f"{pad}{k}: {scalar(x)}")
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict):
                sub = emit(x, indent + 1)
                sub[0] = f"{pad}- " + sub[0].lstrip()
                lines.extend(sub)
            else:
                lines.append(f"{pad}- {scalar(x)}")
    return lines


MONTHS_SV = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"]


def swedish_date(iso):
    """2027-12-31 as "31 december 2027"."""
    y, m, d = iso.split("-")
    return f"{int(d)} {MONTHS_SV[int(m) - 1]} {y}"


def extended_to(text):
    """An option's rationale with the new end in Swedish words."""
    return re.sub(r"avtalstid(?:en)? förlängd till (\d{4}-\d{2}-\d{2})", lambda m: f"avtalstiden förlängd till {swedish_date(m.group(1))}", text)


def scalar(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", x):
        return x
    return q(x)


LEGAL_BASIS = [
    ("4 kap. 18 § 1", "lou_4_18_1"),
    ("4 kap. 18 § 2", "lou_4_18_2"),
    ("19 kap. 6 a", "lou_19_6a"),
    ("17 kap. 1 §", "lou_17_1"),
    ("19 a kap", "direct_award"),
]
PROCEDURE = {"direct_award_national": "direct-award"}
PARTY_ROLE = {"idea_based_partner": "iop_partner"}
CONTACT_ROLE = {"auditor": "other"}
DECIDER = {"buyer_unilateral": "buyer", "mutual": "mutual"}
PER = {"year": "år", "term": "termin"}
GROUND_BY_BT200 = {
    "mod-minv": "17:9",
    "mod-rev": "17:10",
    "add-wss": "17:11",
    "mod-cir": "17:12",
    "mod-repl": "17:13",
    "mod-nons": "17:14",
}
UNITS = {}
GOAL_TO_BT775 = {"social.disadvantagedEmploymentOpportunities": "opp"}

# Facts the samples leave out but the rules (or a real IOP) need; all marked as sample data.
IOP_FILL = {
    "AGR-2026-0002": {
        "signatories": ["p08", "p09"],
        "value_base": "Parterna delar synen att fysisk aktivitet och gemenskap stärker hälsan och delaktigheten för personer med psykisk funktionsnedsättning (sample).",
        "goals": ["Minst 10 gruppaktiviteter per vecka under terminerna", "Minst 60 deltagare per termin"],
        "decision": {"body": "Socialnämnden Nordost", "date": "2026-03-12", "paragraph": "§ 31 (sample)"},
        "diarienummer": "SN-NO 2026/0212 (sample)",
        "purpose": "Att ge personer med psykisk funktionsnedsättning regelbunden fysisk aktivitet och gemenskap.",
        "target_group": "Vuxna med psykisk funktionsnedsättning i Nordost",
    },
    "AGR-2024-0003": {
        "signatories": ["p15", "p16"],
        "value_base": "Alla barn och unga ska ha tillgång till en meningsfull och trygg fritid; föreningens egen värdegrund bygger på delaktighet och hållbarhet (sample).",
        "goals": ["Öppen verksamhet minst 3 kvällar i veckan", "Minst 150 unika besökare per år"],
        "purpose": "Att erbjuda barn och unga i prioriterade områden meningsfull fritid och en cykelverkstad som lärmiljö.",
        "target_group": "Barn och unga 10–20 år i prioriterade områden",
        "activities": [
            {"party": "org-s06", "text": "Öppen cykelverkstad och fritidsaktiviteter", "min_volume": "minst 3 kvällar i veckan"},
        ],
        "contributions": [
            {"party": "org-b06", "type": "money", "amount_sek": 450000, "per": "year"},
            {"party": "org-s06", "type": "volunteer_hours", "text": "ca 300 h/år"},
        ],
    },
    "AGR-2026-0009": {
        "signatories": ["p05", "p22"],
        "value_base": "Arbete och gemenskap ger egenmakt; parterna utgår från kooperativets värdegrund om delaktighet (sample).",
        "goals": ["8 deltagare i arbetsträning per år", "minst 40 % går vidare till arbete eller studier"],
        "decision": {"body": "Socialnämnden Haninge", "date": "2025-11-19", "paragraph": "§ 88 (sample)"},
        "diarienummer": "SN 2025/0977 (sample)",
        "purpose": "Arbetsträning i café på serviceboende för personer långt från arbetsmarknaden.",
        "target_group": "Personer långt från arbetsmarknaden som får stöd via samordningsförbundet",
        "activities": [{"party": "org-s11", "text": "Arbetsträning i caféet med handledning"}],
        "contributions": [
            {"party": "org-b02", "type": "premises", "text": "Caféet på serviceboendet"},
            {"party": "org-f01", "type": "money", "amount_sek": 400000, "per": "year", "text": "Finansiering från samordningsförbundet"},
        ],
    },
    "AGR-2024-0010": {
        "signatories": ["p10", "p23"],
        "value_base": "Varje ung vuxen har rätt till ett eget hem och en väg till egen försörjning (sample).",
        "goals": ["Minst 8 unga vuxna i stödboende per år", "minst hälften flyttar till eget boende"],
        "decision": {"body": "Arbetsmarknads- och socialnämnden", "date": "2023-11-22", "paragraph": "§ 201 (sample)"},
        "diarienummer": "ASN-2023-1410 (sample)",
        "purpose": "Stödboende och vägledning för unga vuxna på väg till eget boende och sysselsättning.",
        "target_group": "Unga vuxna 18–25 år",
        "activities": [{"party": "org-s09", "text": "Stödboende med vägledning", "min_volume": "minst 8 platser"}],
        "contributions": [{"party": "org-b04", "type": "money", "amount_sek": 450000, "per": "year"}],
    },
    "AGR-2027-0012": {
        "purpose": "Textilt återbruk som arbetsträning för personer långt från arbetsmarknaden i Nordost.",
        "target_group": "Vuxna i Nordost med ekonomiskt bistånd",
        "activities": [{"party": "org-s02", "text": "Arbetsträning i syateljé", "min_volume": "minst 8 deltagare per termin"}],
        "contributions": [{"party": "org-b03", "type": "money", "amount_sek": 520000, "per": "year"}],
    },
}
LEGAL_ASSESSMENT = {
    "by": "Stadsledningskontorets juridiska avdelning (sample)",
    "conclusion": "Partnerskapet ligger utanför upphandlingsreglerna: ingen ekonomisk ersättning för tjänster på en marknad, "
    "parternas gemensamma ändamål och ömsesidiga bidrag (sample).",
}
# Social clauses for contracts whose sample names the objective only through eForms/OCDS codes.
CLAUSES = {
    "AGR-2025-0004": {
        "lou_basis": "lou_4_18_1",
        "objective": "opp",
        "strategy": "selectionCriteria",
        "target": "Minst 30 % av de anställda i leverantörens verksamhet ska vara personer med funktionsnedsättning eller som har svårt att komma in på arbetsmarknaden",
        "target_value": 30,
        "target_unit": "procent av de anställda",
        "follow_up": "Årligt intyg om andel sysselsatta ur målgruppen",
    },
    "AGR-2024-0008": {
        "lou_basis": "lou_4_18_2",
        "objective": "opp",
        "strategy": "contractPerformanceConditions",
        "target": "Kontraktet ska fullgöras inom ramen för program för skyddad anställning",
        "follow_up": "Årligt avstämningsmöte",
    },
    "AGR-2025-0007": {
        "lou_basis": "lou_19_6a",
        "objective": "gen-eq",
        "strategy": "selectionCriteria",
        "target": "Leverantören ska vara registrerad i Kammarkollegiets register över idéburna organisationer (lag 2022:900)",
        "follow_up": "Kontroll av registreringen vid avtalsstart och årligen",
    },
    "AGR-2025-0013": {
        "lou_basis": "lou_4_18_1",
        "objective": "opp",
        "strategy": "selectionCriteria",
        "target": "Minst 30 % av de anställda ska vara personer med funktionsnedsättning eller som har svårt att komma in på arbetsmarknaden",
        "target_value": 30,
        "target_unit": "procent av de anställda",
    },
}


# Facts the shared samples leave out, kept here so the files stay as the registry needs them
# (sample data): the organisations' postal addresses, a samordningsförbund's members, which are
# idea-based; the agreements' diarienummer and contract terms. Merged into what the mapping makes.
ORGANISATIONS = {'212900-0010': {'address': {'street': 'Farsta torg 1', 'postal_code': '123 47', 'city': 'Farsta'}},
 '212900-0028': {'address': {'street': 'Rudsjöterrassen 2', 'postal_code': '136 81', 'city': 'Haninge'}},
 '212900-0036': {'address': {'street': 'Angereds torg 9', 'postal_code': '424 65', 'city': 'Angered'}},
 '212900-0044': {'address': {'street': 'August Palms plats 1', 'postal_code': '205 80', 'city': 'Malmö'}},
 '212900-0051': {'address': {'street': 'Munkhättevägen 45', 'postal_code': '147 85', 'city': 'Tumba'}},
 '212900-0069': {'address': {'street': 'Stadshuset', 'postal_code': '721 87', 'city': 'Västerås'}},
 '212900-0077': {'address': {'street': 'Stationsgatan 12', 'postal_code': '753 75', 'city': 'Uppsala'}},
 '232900-0018': {'address': {'street': 'Rådhus Skåne', 'postal_code': '291 89', 'city': 'Kristianstad'}},
 '202900-0011': {'members': ['212900-0028', '212900-0085', '212900-0093', '232900-0026', '202100-0001', '202100-0019'],
                 'address': {'street': 'Rudsjöterrassen 2', 'postal_code': '136 81', 'city': 'Haninge'}},
 '769990-0010': {'idea_based': True, 'address': {'street': 'Textilvägen 4', 'postal_code': '123 52', 'city': 'Farsta'}},
 '769990-0028': {'idea_based': True,
                 'address': {'street': 'Hjällbo torg 3', 'postal_code': '424 38', 'city': 'Angered'}},
 '769990-0036': {'address': {'street': 'Odlingsvägen 12', 'postal_code': '147 41', 'city': 'Tumba'}},
 '769990-0044': {'address': {'street': 'Storvretsvägen 30', 'postal_code': '147 32', 'city': 'Tumba'}},
 '769990-0051': {'address': {'street': 'Handenterminalen 7', 'postal_code': '136 40', 'city': 'Handen'}},
 '769990-0069': {'idea_based': True,
                 'address': {'street': 'Verkstadsgatan 5', 'postal_code': '721 30', 'city': 'Västerås'}},
 '802990-0019': {'address': {'street': 'Hammarkullen Torget 2', 'postal_code': '424 31', 'city': 'Angered'}},
 '802990-0027': {'address': {'street': 'Box 1204', 'postal_code': '751 42', 'city': 'Uppsala'}},
 '802990-0035': {'address': {'street': 'Rosengårdsvägen 18', 'postal_code': '213 62', 'city': 'Malmö'}},
 '559990-0015': {'address': {'street': 'Industrigatan 21', 'postal_code': '212 14', 'city': 'Malmö'}},
 '769990-0077': {'idea_based': True,
                 'address': {'street': 'Köksvägen 3', 'postal_code': '137 37', 'city': 'Västerhaninge'}},
 '559990-0023': {'address': {'street': 'Fasadgatan 9', 'postal_code': '214 44', 'city': 'Malmö'}}}
AGREEMENTS = {'AGR-2024-0003': {'terms': {'insurance': {'liability_sek': '5000000'},
                             'personal_data': 'separate_controllers',
                             'state_aid': {'basis': 'no_aid',
                                           'reasoning': 'Cykelverkstaden drivs som en öppen fritidsverksamhet utan '
                                                        'avgifter och utan konkurrens på en marknad. Verksamheten är '
                                                        'inte ekonomisk i statsstödsreglernas mening, och bidraget är '
                                                        'därför inte statsstöd.'}}},
 'AGR-2024-0008': {'diarienummer': 'RS 2024/0144 (sample)',
                   'terms': {'price': {'model': 'Fast pris enligt prisbilagan i leverantörens anbud',
                                       'adjustment': {'index': 'Arbetskostnadsindex för arbetare (AKI), privat sektor '
                                                               '(SCB)',
                                                      'base_month': '2024-01',
                                                      'interval_months': 12}},
                             'invoicing': {'payment_days': 30, 'reference': 'RS-REGSERV-0144'},
                             'insurance': {'liability_sek': '10000000'},
                             'liability_cap_sek': '2000000',
                             'labour_law_conditions': True,
                             'collective_agreement': 'Avtal om lön och allmänna anställningsvillkor mellan Almega '
                                                     'Tjänsteförbunden och Handelsanställdas förbund',
                             'penalty': {'amount_sek': '5000', 'per': 'påbörjad kalendermånad'},
                             'excluded_clauses': ['receipt']}},
 'AGR-2024-0010': {'terms': {'insurance': {'liability_sek': '5000000'},
                             'personal_data': 'separate_controllers',
                             'state_aid': {'basis': 'no_aid',
                                           'reasoning': 'Stödboendet är en icke-ekonomisk verksamhet av social '
                                                        'karaktär som bygger på solidaritet och ideella insatser. '
                                                        'Bidraget är därför inte statsstöd.'}}},
 'AGR-2025-0001': {'terms': {'insurance': {'liability_sek': '5000000'},
                             'personal_data': 'separate_controllers',
                             'state_aid': {'basis': 'de_minimis',
                                           'reasoning': 'Textilverksamheten säljer i begränsad omfattning produkter på '
                                                        'en marknad. Bidraget lämnas därför som stöd av mindre '
                                                        'betydelse; föreningen har intygat att den inte fått annat '
                                                        'stöd av mindre betydelse som tillsammans med detta överstiger '
                                                        'taket.',
                                           'decision': 'De minimis-intyg daterat 20 november 2024'}}},
 'AGR-2025-0004': {'diarienummer': 'HAN 2024/0312 (sample)',
                   'terms': {'price': {'model': 'Fast pris enligt prisbilagan i leverantörens anbud',
                                       'adjustment': {'index': 'Arbetskostnadsindex för arbetare (AKI), privat sektor '
                                                               '(SCB)',
                                                      'base_month': '2025-01',
                                                      'interval_months': 12}},
                             'invoicing': {'payment_days': 30, 'reference': 'HAN-SOC-4711'},
                             'insurance': {'liability_sek': '10000000'},
                             'liability_cap_sek': '2000000',
                             'labour_law_conditions': True,
                             'collective_agreement': 'Serviceentreprenadavtalet mellan Almega Serviceentreprenörerna '
                                                     'och Fastighetsanställdas Förbund',
                             'penalty': {'amount_sek': '5000', 'per': 'påbörjad kalendermånad'},
                             'special_terms': 'Städning i lokaler där barn vistas utförs före klockan 14.00. '
                                              'Leverantören deltar i fritidsgårdarnas brandskyddsgenomgång en gång per '
                                              'år.'}},
 'AGR-2025-0005': {'diarienummer': 'AVF 2024/2210 (sample)',
                   'terms': {'price': {'model': 'Fast pris enligt prisbilagan i leverantörens anbud',
                                       'adjustment': {'index': 'Arbetskostnadsindex för arbetare (AKI), privat sektor '
                                                               '(SCB)',
                                                      'base_month': '2024-10',
                                                      'interval_months': 12}},
                             'invoicing': {'payment_days': 30, 'reference': 'AVF-MAL-2210'},
                             'insurance': {'liability_sek': '10000000'},
                             'liability_cap_sek': '2000000',
                             'labour_law_conditions': True,
                             'collective_agreement': 'Måleriavtalet mellan Måleriföretagen i Sverige och Svenska '
                                                     'Målareförbundet',
                             'subcontractors': [{'org': '559990-0015',
                                                 'name': 'Återbruket Skåne AB (svb)',
                                                 'part': 'Bortforsling och återbruk av material'}],
                             'penalty': {'amount_sek': '10000', 'per': 'påbörjad kalendermånad'}}},
 'AGR-2025-0007': {'diarienummer': 'SOCN 2024/0871 (sample)',
                   'terms': {'price': {'model': 'Fast pris enligt prisbilagan i leverantörens anbud',
                                       'adjustment': {'index': 'Arbetskostnadsindex för arbetare (AKI), privat sektor '
                                                               '(SCB)',
                                                      'base_month': '2025-01',
                                                      'interval_months': 12}},
                             'invoicing': {'payment_days': 30, 'reference': 'UPP-SOC-0871'},
                             'insurance': {'liability_sek': '10000000'},
                             'liability_cap_sek': '2000000',
                             'personal_data': 'processor',
                             'penalty': {'amount_sek': '3000', 'per': 'påbörjad kalendermånad'}}},
 'AGR-2025-0013': {'diarienummer': 'BOT 2025/0133 (sample)',
                   'terms': {'price': {'model': 'Fast pris enligt prisbilagan i leverantörens anbud',
                                       'adjustment': {'index': 'Arbetskostnadsindex för arbetare (AKI), privat sektor '
                                                               '(SCB)',
                                                      'base_month': '2025-03',
                                                      'interval_months': 12}},
                             'invoicing': {'payment_days': 30, 'reference': 'BOT-AVF-0133'},
                             'insurance': {'liability_sek': '10000000'},
                             'liability_cap_sek': '2000000',
                             'penalty': {'amount_sek': '3000', 'per': 'påbörjad kalendermånad'}}},
 'AGR-2026-0002': {'terms': {'insurance': {'liability_sek': '5000000'},
                             'personal_data': 'separate_controllers',
                             'state_aid': {'basis': 'no_aid',
                                           'reasoning': 'Friskvårdsaktiviteterna erbjuds utan avgift till boende i '
                                                        'området och bedrivs inte på en marknad. Bidraget är därför '
                                                        'inte statsstöd.'},
                             'excluded_clauses': ['iop_communication']}},
 'AGR-2026-0006': {'diarienummer': 'BOT 2026/0051 (sample)',
                   'terms': {'price': {'model': 'Fast pris enligt prisbilagan i leverantörens anbud',
                                       'adjustment': {'index': 'Arbetskostnadsindex för arbetare (AKI), privat sektor '
                                                               '(SCB)',
                                                      'base_month': '2026-01',
                                                      'interval_months': 12}},
                             'invoicing': {'payment_days': 30, 'reference': 'BOT-AVF-0051'},
                             'insurance': {'liability_sek': '10000000'},
                             'liability_cap_sek': '2000000'}},
 'AGR-2026-0009': {'terms': {'insurance': {'liability_sek': '5000000'},
                             'personal_data': 'processor',
                             'state_aid': {'basis': 'sgei',
                                           'reasoning': 'Arbetsträningen i måltidsverksamheten är en tjänst av allmänt '
                                                        'ekonomiskt intresse som kommunen har anförtrott föreningen. '
                                                        'Ersättningen täcker högst nettokostnaden för uppdraget och '
                                                        'överkompensation betalas tillbaka.',
                                           'decision': 'Socialnämndens beslut om anförtroende den 12 november 2025, § '
                                                       '88'},
                             'special_terms': 'Måltiderna lagas enligt kommunens riktlinjer för måltider i social '
                                              'verksamhet.'}},
 'AGR-2026-0011': {'diarienummer': 'AVF 2026/0314 (sample)',
                   'terms': {'price': {'model': 'Fast pris enligt prisbilagan i leverantörens anbud',
                                       'adjustment': {'index': 'Arbetskostnadsindex för arbetare (AKI), privat sektor '
                                                               '(SCB)',
                                                      'base_month': '2024-10',
                                                      'interval_months': 12}},
                             'invoicing': {'payment_days': 30, 'reference': 'AVF-MAL-0314'},
                             'insurance': {'liability_sek': '10000000'},
                             'liability_cap_sek': '2000000',
                             'labour_law_conditions': True,
                             'collective_agreement': 'Måleriavtalet mellan Måleriföretagen i Sverige och Svenska '
                                                     'Målareförbundet',
                             'penalty': {'amount_sek': '10000', 'per': 'påbörjad kalendermånad'}}}}
NOTES = {
    "AGR-2026-0009": "# Parties: Solrosen is an ASF and idea-based (ekonomisk förening), so it may be an IOP partner; the samordningsförbund funds, and Haninge, one of its members, contracts.\n",
}


def merge(base, extra):
    """Puts `extra` into `base`: nested dicts merged, everything else set (new keys last)."""
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v


def target(indicator, value, direction="at_least", per="year"):
    """A target on an indicator (docs/format.md, Social outcomes)."""
    return {"indicator": indicator, "value": value, "direction": direction, "per": per}


def fig(indicator, women=None, men=None, other=None, total=None):
    """A reported figure: broken down by gender (the total is their sum unless given, as for a
    share), or a total only."""
    if women is None:
        return {"indicator": indicator, "total": total}
    if total is None:
        total = women + men + other
    return {"indicator": indicator, "total": total, "women": women, "men": men, "other": other}


def accepted(period_end, submitted_on, decided_on, *figures, **extra):
    return {"period_end": period_end, "state": "accepted", "submitted_on": submitted_on, "decided_on": decided_on, **extra, "figures": list(figures)}


# Social outcomes of the samples with goals (IOP) or an employment requirement (all fictitious):
# targets on their goals and social clauses, the indicators their reports carry, the agreements'
# own indicators, and two or more reported periods of figures, so the demo shows progress against
# target from the first start. `goals` and `clauses` are by index; `reporting` by kind (a report
# the shared samples do not have is added whole, marked "(sample)"). The call-off AGR-2026-0011
# has the framework's employment requirement and target but no reports of its own (the framework
# AGR-2025-0005 reports); AGR-2026-0002 and AGR-2024-0010 report only once at the end, so a
# recurring participant statistics report is added to them.
OUTCOMES = {
    "AGR-2025-0001": {
        "goals": {
            0: {"indicator": "Nya deltagare per halvår, per kön", "targets": [target("participants", 12)]},
            1: {
                "indicator": "Andel av dem som avslutat som går till arbete eller studier; anställningar",
                "targets": [target("moved_on_share", 30), target("participants_employed", 3)],
            },
        },
        "reporting": {
            "participant_statistics": {
                "description": "Deltagarstatistik per kön: nya deltagare, anställningar och andel som gått vidare",
                "indicators": ["participants", "participants_employed", "moved_on_share"],
                "occurrences": [
                    accepted("2025-06-30", "2025-08-20", "2025-08-27",
                             fig("participants", 4, 3, 0), fig("participants_employed", 1, 0, 0),
                             fig("moved_on_share", 40, 25, 0, total=33)),
                    accepted("2025-12-31", "2026-02-18", "2026-02-25",
                             fig("participants", 3, 2, 1), fig("participants_employed", 1, 1, 0),
                             fig("moved_on_share", 40, 33, 50, total=38)),
                    accepted("2026-06-30", "2026-08-24", "2026-09-02",
                             fig("participants", 2, 3, 0), fig("participants_employed", 0, 1, 0),
                             fig("moved_on_share", 20, 33, 0, total=25)),
                ],
            },
        },
    },
    "AGR-2026-0002": {
        "goals": {1: {"indicator": "Deltagare per termin, per kön", "targets": [target("participants", 60, per="period")]}},
        "reporting": {
            "participant_statistics": {
                "kind": "participant_statistics",
                "description": "Deltagare i gruppaktiviteterna per kvartal, per kön (sample)",
                "recurrence": "quarterly",
                "first_period_end": "2026-06-30",
                "due_offset_days": 30,
                "grace_days": 14,
                "responsible": "802990-0019",
                "indicators": ["participants", "volunteer_hours"],
                "occurrences": [
                    accepted("2026-06-30", "2026-07-21", "2026-08-04",
                             fig("participants", 38, 21, 2), fig("volunteer_hours", total=120)),
                    accepted("2026-09-30", "2026-10-19", "2026-10-27",
                             fig("participants", 41, 27, 1), fig("volunteer_hours", total=164)),
                ],
            },
        },
    },
    "AGR-2024-0003": {
        "indicators": [
            {"id": "unique_visitors", "name_sv": "Unika besökare", "name_en": "Unique visitors",
             "unit": "people", "gender": True, "aggregation": "sum"},
        ],
        "goals": {1: {"indicator": "Unika besökare per år, per kön", "targets": [target("unique_visitors", 150)]}},
        "reporting": {
            "annual_report": {
                "indicators": ["unique_visitors", "volunteer_hours"],
                "occurrences": [
                    accepted("2024-12-31", "2025-03-20", "2025-04-02",
                             fig("unique_visitors", 38, 51, 3), fig("volunteer_hours", total=170)),
                    accepted("2025-12-31", "2026-03-25", "2026-04-08",
                             fig("unique_visitors", 70, 86, 6), fig("volunteer_hours", total=315)),
                ],
            },
        },
    },
    "AGR-2025-0005": {
        "clauses": {0: {"targets": [target("req_employed", 1), target("req_placements", 2)]}},
        "reporting": {
            "social_clause_report": {
                "indicators": ["req_employed", "req_placements", "req_months"],
                "occurrences": [
                    accepted("2025-03-31", "2025-04-14", "2025-04-22",
                             fig("req_employed", 0, 0, 0), fig("req_placements", 0, 1, 0), fig("req_months", 0, 2, 0)),
                    accepted("2025-06-30", "2025-07-16", "2025-07-25",
                             fig("req_employed", 0, 1, 0), fig("req_placements", 1, 0, 0), fig("req_months", 1, 3, 0)),
                    accepted("2025-09-30", "2025-10-15", "2025-10-24",
                             fig("req_employed", 0, 0, 0), fig("req_placements", 1, 1, 0), fig("req_months", 3, 3, 0)),
                    accepted("2025-12-31", "2026-01-28", "2026-02-06",
                             fig("req_employed", 1, 0, 0), fig("req_placements", 0, 1, 0), fig("req_months", 3, 4, 0),
                             rejected_figures=[{
                                 "submitted_on": "2026-01-19", "decided_on": "2026-01-23",
                                 "reason": "Anställningsbevis saknas för de två redovisade anställningarna",
                                 "figures": [fig("req_employed", 1, 1, 0), fig("req_placements", 0, 1, 0), fig("req_months", 3, 4, 0)],
                             }]),
                    accepted("2026-03-31", "2026-04-16", "2026-04-24",
                             fig("req_employed", 0, 0, 0), fig("req_placements", 1, 0, 0), fig("req_months", 3, 3, 0)),
                    accepted("2026-06-30", "2026-07-14", "2026-07-22",
                             fig("req_employed", 0, 1, 0), fig("req_placements", 1, 1, 0), fig("req_months", 4, 5, 0)),
                ],
            },
        },
    },
    "AGR-2026-0011": {
        "clauses": {0: {"targets": [target("req_employed", 1, per="term")]}},
    },
    "AGR-2026-0009": {
        "goals": {
            0: {"indicator": "Nya deltagare i arbetsträning, per kön", "targets": [target("participants", 8)]},
            1: {"indicator": "Andel av dem som avslutat som gått vidare", "targets": [target("moved_on_share", 40)]},
        },
        "reporting": {
            "participant_statistics": {
                "indicators": ["participants", "moved_on_share"],
                "occurrences": [
                    accepted("2026-04-30", "2026-05-12", "2026-05-20",
                             fig("participants", 2, 1, 0), fig("moved_on_share", 50, 0, 0, total=33)),
                    accepted("2026-08-31", "2026-09-10", "2026-09-18",
                             fig("participants", 1, 2, 0), fig("moved_on_share", 50, 50, 0, total=50)),
                ],
            },
        },
    },
    "AGR-2024-0010": {
        "goals": {
            0: {"indicator": "Unga vuxna i stödboendet vid årets slut, per kön", "targets": [target("participants_at_period_end", 8)]},
            1: {"indicator": "Andel som flyttat till eget boende eller gått vidare", "targets": [target("moved_on_share", 50)]},
        },
        "reporting": {
            "participant_statistics": {
                "kind": "participant_statistics",
                "description": "Boende och andel som gått vidare, per kön (sample)",
                "recurrence": "yearly",
                "first_period_end": "2024-12-31",
                "due_offset_days": 45,
                "grace_days": 14,
                "responsible": "802990-0035",
                "indicators": ["participants_at_period_end", "moved_on_share"],
                "occurrences": [
                    accepted("2024-12-31", "2025-02-10", "2025-02-20",
                             fig("participants_at_period_end", 3, 5, 0), fig("moved_on_share", 67, 40, 0, total=50)),
                    accepted("2025-12-31", "2026-02-09", "2026-02-17",
                             fig("participants_at_period_end", 4, 4, 1), fig("moved_on_share", 50, 60, 100, total=57)),
                ],
            },
        },
    },
}


def outcomes(out, ref):
    """Adds the OUTCOMES of agreement `ref` to `out`, the agreement as the file writes it."""
    o = OUTCOMES.get(ref)
    if not o:
        return
    if "indicators" in o:
        out["indicators"] = o["indicators"]
    for i, extra in o.get("goals", {}).items():
        out["iop"]["goals"][i].update(extra)
    for i, extra in o.get("clauses", {}).items():
        out["social_clauses"][i]["targets"] = extra["targets"]
    for kind, extra in o.get("reporting", {}).items():
        existing = [r for r in out.get("reporting", []) if r["kind"] == kind]
        if existing:
            given = existing[0].get("occurrences", [])
            existing[0].update(extra)
            if given:
                both = given + extra.get("occurrences", [])
                existing[0]["occurrences"] = sorted(both, key=lambda x: x["period_end"])
        else:
            out.setdefault("reporting", []).append(dict(extra))


def legal_basis(a):
    if a["kind"] == "iop":
        return "iop"
    if a["kind"] == "direct_award":
        return "direct_award"
    text = a.get("legal_basis", "")
    for needle, code in LEGAL_BASIS:
        if needle in text:
            return code
    return "lou_17_1"  # a call-off inherits its framework's special contract conditions


def recurrence(r):
    if "once_due" in r:
        return {"recurrence": "once", "due": r["once_due"]}
    rule = dict(p.split("=", 1) for p in r["rrule"].split(";"))
    freq, interval = rule["FREQ"], int(rule.get("INTERVAL", "1"))
    months = 12 * interval if freq == "YEARLY" else interval
    name = {1: "monthly", 3: "quarterly", 4: "tertial", 6: "half_yearly", 12: "yearly"}[months]
    start = rule["DTSTART"]
    return {"recurrence": name, "first_period_end": f"{start[:4]}-{start[4:6]}-{start[6:]}" if "-" not in start else start}


def main(path):
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    orgs = {o["id"]: o["org_number"] for o in data["organisations"]}
    # "Malmö stad, Arbetsmarknads- och vuxenutbildningsförvaltningen": the organisation is the
    # municipality, the administration the party's unit in each agreement.
    for o in data["organisations"]:
        if ", " in o["name"]:
            o["name"], UNITS[o["id"]] = o["name"].split(", ", 1)
    people = {p["id"]: p["email"] for p in data["contacts"]}
    by_id = {a["id"]: a for a in data["agreements"]}

    registry = {
        "organisations": [
            {
                "org_number": o["org_number"],
                "name": o["name"],
                "legal_form": o["legal_form"],
                "kind": o["kind"],
                "parent": o.get("parent"),
                "registered_idea_based_on": o.get("registered_on"),
                **ORGANISATIONS.get(o["org_number"], {}),
            }
            for o in data["organisations"]
        ],
        "contacts": [
            {
                "email": p["email"],
                "name": p["name"],
                "organisation": orgs[p["org"]],
                "role": CONTACT_ROLE.get(p["role"], p["role"]),
            }
            for p in data["contacts"]
        ],
    }
    header = "# Sample data from shared/samples/agreements.json (fictitious), written by scripts/samples_to_yaml.py.\n"
    (OUT / "registry.yaml").write_text(header + "\n".join(emit(registry)) + "\n", encoding="utf-8")

    for a in data["agreements"]:
        (OUT / f"{a['id']}.yaml").write_text(
            header + f"# Focus: {a['test_focus']}\n" + NOTES.get(a["id"], "") + "\n".join(emit({"agreements": [agreement(a, orgs, people, by_id)]})) + "\n",
            encoding="utf-8",
        )


def agreement(a, orgs, people, by_id):
    ref = a["id"]
    fill = IOP_FILL.get(ref, {})
    src = by_id[a["parent"]] if a["kind"] == "call_off" else a
    ef = src.get("eforms", {})
    period = a["period"]
    term = a.get("termination", {})
    notice = term.get("notice_given")
    out = {
        "reference": ref,
        "kind": a["kind"],
        "status": a["status"],
        "title": a["title"],
        "diarienummer": a.get("dnr") or fill.get("diarienummer"),
        "decision": a.get("decision") or fill.get("decision"),
        "legal_basis": legal_basis(a),
        "procedure_type": PROCEDURE.get(a.get("procedure_type"), a.get("procedure_type")),
        "value": {
            "amount_sek": str(a["value"]["amount_sek"]),
            "basis": a["value"]["type"],
            "estimated_total_sek": str(a["value"]["estimated_total_incl_options_sek"]) if "estimated_total_incl_options_sek" in a["value"] else None,
        },
        "parties": [
            {"org": orgs[p["org"]], "role": PARTY_ROLE.get(p["role"], p["role"]), "unit": UNITS.get(p["org"])}
            for p in a["parties"]
        ],
        "contacts": {k: ([people[x] for x in v] if isinstance(v, list) else people[v]) for k, v in a["contacts"].items()},
        "period": {
            "start": period["start"],
            "original_end": period.get("original_end", period["end"]),
            "current_end": term.get("effective_end", period["end"]),
            "outer_limit": period.get("max_extent"),
        },
        "framework": a.get("parent"),
    }
    if "signatories" in fill and "signatories" not in out["contacts"]:
        out["contacts"]["signatories"] = [people[x] for x in fill["signatories"]]
    if a["kind"] == "call_off" and "escalation" in src["contacts"]:
        out["contacts"]["escalation"] = people[src["contacts"]["escalation"]]
    if ef:
        out["eforms"] = {
            "bt_71": ef.get("BT_71"),
            "bt_736": ef.get("BT_736"),
            "bt_06": ef.get("BT_06"),
            "bt_775": ef.get("BT_775"),
            "bt_765": ef.get("BT_765") if a["kind"] != "call_off" else None,
            "bt_23": ef.get("BT_23"),
            "cpv": ef.get("BT_262"),
        }
    if out["legal_basis"] == "lou_4_18_1":
        out["share_requirement_percent"] = a.get("andelskrav_min_percent", 30)
    clauses = [
        {
            "lou_basis": "lou_17_1",
            "objective": GOAL_TO_BT775[c["goal"]],
            "strategy": c["strategy"],
            "target": c["target"],
            "target_value": 1,
            "target_unit": "anställning eller praktikplats per år",
            "follow_up": c.get("follow_up"),
        }
        for c in src.get("social_clauses", [])
    ]
    if ref in CLAUSES:
        clauses.append(CLAUSES[ref])
    if clauses:
        out["social_clauses"] = clauses
    if a["kind"] == "iop":
        out["iop"] = iop(a, fill, orgs)
    if a.get("options"):
        out["options"] = [
            {
                "seq": o["seq"],
                "months": o["months"],
                "decided_by": DECIDER[o["decision"]],
                "notice_months": o.get("notice_months_before_end"),
                "state": o.get("status", "available"),
                "decided_on": o.get("decided_on"),
            }
            for o in a["options"]
        ]
    if "auto_renewal" in a:
        r = a["auto_renewal"]
        out["tacit_renewal"] = {"months": r["months"], "notice_months": r["notice_months_before_end"], "renewals_done": 1}
    if "renewal_dialogue" in a:
        out["renewal_dialogue"] = {"text": a["renewal_dialogue"]["text"], "months_before_end": 6}
    if term:
        out["termination"] = {
            "notice_months": term["notice_months"],
            "form": term.get("form"),
            "effective": term.get("effective", "exact"),
            "notice": {"by": orgs[notice["by"]], "received_on": notice["date"], "effective_end": term["effective_end"]} if notice else None,
        }
    amendments = [
        {
            "date": m["date"],
            "ground": GROUND_BY_BT200[m["eforms_BT_200"]],
            "rationale": extended_to(m["description"]),
            "value_change_sek": str(m["value_delta_sek"]) if "value_delta_sek" in m else None,
        }
        for m in a.get("amendments", [])
    ]
    for o in a.get("options", []):
        if o.get("status") == "exercised":
            existing = [m for m in amendments if m["ground"] == "17:10" and m["date"] == o["decided_on"]]
            m = existing[0] if existing else None
            if m is None:
                m = {"date": o["decided_on"], "ground": "17:10", "rationale": f"Option {o['seq']} utnyttjad, avtalstiden förlängd till {swedish_date(o['new_end'])}"}
                amendments.append(m)
            m["new_end"] = o["new_end"]
            m["option_seq"] = o["seq"]
    if amendments:
        out["amendments"] = sorted(amendments, key=lambda m: m["date"])
    if a.get("reporting"):
        out["reporting"] = [report(r, a, orgs, people) for r in a["reporting"]]
    outcomes(out, ref)
    merge(out, AGREEMENTS.get(ref, {}))
    notes = [x for x in [a.get("note"), a.get("supplier_requirement")] if x]
    if "documentation" in a:
        d = a["documentation"]
        notes.append("Dokumentationsplikt: " + ", ".join(d.get("contents", [])) if "contents" in d else "Dokumentation: " + d.get("note", ""))
    if "planned_decision" in a:
        p = a["planned_decision"]
        notes.append(f"Planerat beslut: {p['body']} {p['date']}")
    if notes:
        out["notes"] = "\n".join(notes)
    return out


def iop(a, fill, orgs):
    src = a.get("iop", {})
    d = {
        "background": src.get("background"),
        "value_base": src.get("value_base") or fill.get("value_base"),
        "purpose": src.get("purpose") or fill.get("purpose"),
        "goals": [{"text": g} for g in (src.get("goals") or fill.get("goals", []))],
        "target_group": src.get("target_group") or fill.get("target_group"),
        "activities": [
            {"party": orgs[x.get("responsible", x.get("party"))], "text": x["text"], "min_volume": x.get("min_volume")}
            for x in (src.get("activities") or fill.get("activities", []))
        ],
        "contributions": [
            {
                "party": orgs[c["party"]],
                "kind": c["type"],
                "amount_sek": str(c["amount_sek"]) if "amount_sek" in c else None,
                "per": PER.get(c.get("per"), c.get("per")),
                "text": c.get("text") or c.get("funding_source"),
            }
            for c in (src.get("contributions") or fill.get("contributions", []))
        ],
        "governance": src.get("governance"),
        "changes": src.get("changes"),
        "disputes": src.get("dispute"),
    }
    if a["status"] != "draft":
        decision = a.get("decision") or fill["decision"]
        d["legal_assessment"] = {"date": decision["date"], **LEGAL_ASSESSMENT}
    return {k: v for k, v in d.items() if v not in (None, [], "")}


def report(r, a, orgs, people):
    out = {"kind": r["kind"], "description": r.get("text"), **recurrence(r)}
    out["due_offset_days"] = r.get("due_offset_days", 0)
    out["grace_days"] = r.get("grace_days", 0)
    out["responsible"] = orgs[r["responsible"]]
    out["recipient"] = people[r["recipient"]] if "recipient" in r else None
    out["escalation"] = people[r["escalation"]] if "escalation" in r else None
    occurrences = []
    for inst in a.get("instances", []):
        if inst["status"] == "upcoming":
            continue
        occurrences.append({"period_end": inst["period"].split("/")[1], "state": inst["status"], "escalated_on": inst.get("escalated_on")})
    if occurrences and r["kind"] == "social_clause_report":
        out["occurrences"] = occurrences
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "agreements.json"))
