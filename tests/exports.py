"""Survey exports in each tool's documented layout, built by the tests (small, in tmp folders).

Each builder writes a file and returns its path; the data are fixed so that tests can assert
exact counts, labels and values. Shared by tests/test_readers.py and tests/test_init.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

N = 60  # respondents in every built export (above the default min_base of 30)


def _survey(seed=7, n=N):
    """A small survey: recommend 0-10 driven by two 1-5 items, a segment, free text."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 6, n)
    b = rng.integers(1, 6, n)
    c = rng.integers(1, 6, n)
    ltr = np.clip(np.round(1.0 * a + 0.8 * b - 1 + rng.normal(0, 1.2, n)), 0, 10).astype(int)
    region = rng.choice(["North", "South", "East"], n)
    return a, b, c, ltr, region


def spss(path: Path, zsav=False) -> Path:
    """An SPSS file with variable labels, value labels and user-missing codes and ranges.

    ``q_staff`` codes 8 "Not applicable" and 9 "Refused" inside the missing range 8-9 (rows 0-2:
    8, row 3: 9); ``q_app`` code 6 "Don't know" as a discrete user-missing value (rows 4, 5);
    ``region`` coded 1-3 with labels; ``comments`` free text; ``email`` personal data.
    """
    import pyreadstat

    a, b, c, ltr, region = _survey()
    staff = a.astype(float)
    staff[:3] = 8
    staff[3] = 9
    app = b.astype(float)
    app[4:6] = 6
    codes = {"North": 1, "South": 2, "East": 3}
    df = pd.DataFrame({
        "resp_id": np.arange(101, 101 + N).astype(float),
        "q_staff": staff, "q_app": app, "q_price": c.astype(float), "q_nps": ltr.astype(float),
        "region": np.array([codes[r] for r in region], dtype=float),
        "comments": [f"answer number {i} with some words" if i % 3 else "" for i in range(N)],
        "email": [f"person{i}@example.com" for i in range(N)],
    })
    sat = {1.0: "Very dissatisfied", 2.0: "Dissatisfied", 3.0: "Neither", 4.0: "Satisfied",
           5.0: "Very satisfied"}
    pyreadstat.write_sav(
        df, str(path),
        column_labels=["Respondent", "Satisfaction with: Staff in store",
                       "Satisfaction with: The app", "Satisfaction with: Price",
                       "How likely are you to recommend us to a friend?", "Region",
                       "Any comments?", "E-mail address"],
        variable_value_labels={
            "q_staff": {**sat, 8.0: "Not applicable", 9.0: "Refused"},
            "q_app": {**sat, 6.0: "Don't know"},
            "q_price": sat,
            "q_nps": {0.0: "0 Not at all likely", 10.0: "10 Extremely likely"},
            "region": {1.0: "North", 2.0: "South", 3.0: "East"}},
        missing_ranges={"q_staff": [{"lo": 8.0, "hi": 9.0}], "q_app": [6.0]},
        variable_measure={"region": "nominal", "q_nps": "scale"},
        compress=zsav)
    return path


def stata(path: Path) -> Path:
    """A Stata file with variable and value labels (satisfaction 1-5, recommend 0-10)."""
    import pyreadstat

    a, b, c, ltr, region = _survey(seed=11)
    df = pd.DataFrame({"id": np.arange(1, N + 1), "sat_web": a, "sat_call": b, "nps": ltr,
                       "region": [{"North": 1, "South": 2, "East": 3}[r] for r in region]})
    sat = {1: "Very poor", 2: "Poor", 3: "Fair", 4: "Good", 5: "Very good"}
    pyreadstat.write_dta(df, str(path),
                         column_labels=["Respondent", "Rating: Website", "Rating: Call centre",
                                        "Likelihood to recommend", "Region"],
                         variable_value_labels={"sat_web": sat, "sat_call": sat,
                                                "region": {1: "North", 2: "South", 3: "East"}})
    return path


QUALTRICS_META = ["StartDate", "EndDate", "Status", "IPAddress", "Progress",
                  "Duration (in seconds)", "Finished", "RecordedDate", "ResponseId",
                  "RecipientLastName", "RecipientFirstName", "RecipientEmail",
                  "ExternalReference", "LocationLatitude", "LocationLongitude",
                  "DistributionChannel", "UserLanguage"]
QUALTRICS_TEXT = ["Start Date", "End Date", "Response Type", "IP Address", "Progress",
                  "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
                  "Recipient Last Name", "Recipient First Name", "Recipient Email",
                  "External Data Reference", "Location Latitude", "Location Longitude",
                  "Distribution Channel", "User Language"]


def qualtrics(path: Path, numeric=False) -> Path:
    """A Qualtrics CSV export: column names, question text, ImportId JSON; then responses.

    Rows 0-1 are survey previews, row 2 a survey test, row 3 spam, rows 4-6 unfinished: 7 of
    N + 7 responses are left out, N remain. ``numeric``: Status, Finished and choices as numeric
    codes (Qualtrics' "numeric values" export) instead of choice text.
    """
    a, b, c, ltr, region = _survey(seed=3)
    sat = {1: "Extremely dissatisfied", 2: "Somewhat dissatisfied",
           3: "Neither satisfied nor dissatisfied", 4: "Somewhat satisfied",
           5: "Extremely satisfied"}
    names = QUALTRICS_META + ["Q1", "Q2_1", "Q2_2", "Q2_3", "Q3", "Q4"]
    texts = QUALTRICS_TEXT + [
        "How likely is it that you would recommend Acme to a friend or colleague?",
        "How satisfied were you with... - Delivery", "How satisfied were you with... - Returns",
        "How satisfied were you with... - Customer service", "Where do you live?",
        "What could we do better?"]
    ids = [json.dumps({"ImportId": k}) for k in
           ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished",
            "recordedDate", "_recordId", "recipientLastName", "recipientFirstName",
            "recipientEmail", "externalDataReference", "locationLatitude",
            "locationLongitude", "distributionChannel", "userLanguage"]]
    ids[0] = json.dumps({"ImportId": "startDate", "timeZone": "America/Denver"})
    ids += [json.dumps({"ImportId": q}) for q in ["QID1", "QID2_1", "QID2_2", "QID2_3",
                                                   "QID3", "QID4_TEXT"]]
    rows = []
    extra = 7
    total = N + extra
    rng = np.random.default_rng(5)
    for i in range(total):
        j = i % N
        status = "IP Address"
        if i in (0, 1):
            status = "Survey Preview"
        elif i == 2:
            status = "Survey Test"
        elif i == 3:
            status = "Spam"
        finished = "False" if i in (4, 5, 6) else "True"
        if numeric:
            status = {"IP Address": "0", "Survey Preview": "1", "Survey Test": "2",
                      "Spam": "8"}[status]
            finished = "0" if finished == "False" else "1"
        items = [a[j], b[j], c[j]]
        if numeric:
            cells = [str(x) for x in items]
        else:
            cells = [sat[x] for x in items]
        rows.append([
            "2025-03-0%d 10:00:00" % (1 + i % 9), "2025-03-0%d 10:06:00" % (1 + i % 9), status,
            f"10.0.{i // 250}.{i % 250}", "100" if finished in ("True", "1") else "40",
            str(300 + i), finished, "2025-03-0%d 10:06:01" % (1 + i % 9), f"R_{i:015d}", "", "",
            "", "", f"{40 + rng.random():.4f}", f"{-105 + rng.random():.4f}", "anonymous",
            "EN", str(ltr[j]), *cells, region[j], "the delivery was late again" if i % 4 else ""])
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        w.writerow(texts)
        w.writerow(ids)
        w.writerows(rows)
    return path


def surveymonkey_grid():
    """SurveyMonkey's layout: row 1 questions (blank over a question's further columns),
    row 2 'Response' / 'Open-Ended Response' / the matrix row or option; then responses."""
    a, b, c, ltr, region = _survey(seed=9)
    sat = {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral", 4: "Satisfied",
           5: "Very satisfied"}
    top = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
           "Email Address", "First Name", "Last Name", "Custom Data 1",
           "How likely is it that you would recommend Contoso to a friend or colleague?",
           "How satisfied are you with each of the following?", "", "",
           "Which region are you in?",
           "Which channels did you use? (select all that apply)", "", "",
           "Anything else you would like to tell us?"]
    sub = ["", "", "", "", "", "", "", "", "", "Response", "Ordering online",
           "Delivery", "Billing", "Response", "Web", "Phone", "Store", "Open-Ended Response"]
    rows = []
    for i in range(N):
        rows.append([str(11000000000 + i), "400123456", "03/01/2025 09:12:44 AM",
                     "03/01/2025 09:15:02 AM", f"10.1.1.{i}", "", "", "", "",
                     str(ltr[i]), sat[a[i]], sat[b[i]], sat[c[i]], region[i],
                     "Web" if i % 2 else "", "Phone" if i % 3 == 0 else "",
                     "Store" if i % 5 == 0 else "", "Great service" if i % 6 == 0 else ""])
    return [top, sub] + rows


def surveymonkey_csv(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(surveymonkey_grid())
    return path


def surveymonkey_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet"
    for row in surveymonkey_grid():
        ws.append([None if x == "" else x for x in row])
    wb.save(path)
    return path


def excel_with_title(path: Path) -> Path:
    """A workbook whose first sheet is notes and whose 'Data' sheet has a title row, a blank
    row, then the header: numbers stored as numbers, a 1-5 rating with 9 = not applicable."""
    import openpyxl

    a, b, c, ltr, region = _survey(seed=21)
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Exported from the CRM on 2025-03-04"])
    ws = wb.create_sheet("Data")
    ws.append(["Customer survey, March 2025"])
    ws.append([])
    ws.append(["customer_id", "q_website", "q_billing", "q_support", "q_recommend", "region"])
    for i in range(N):
        web = 9 if i % 10 == 0 else int(a[i])
        ws.append([f"C{i:04d}", web, int(b[i]), int(c[i]), int(ltr[i]), region[i]])
    wb.save(path)
    return path


def csv_semicolon_cp1252(path: Path) -> Path:
    """A European-style CSV: semicolons, Windows-1252 text (é), decimal values in one column."""
    a, b, c, ltr, region = _survey(seed=31)
    towns = {"North": "Liège", "South": "Nîmes", "East": "Metz"}
    lines = ["id;satisfaction_accueil;satisfaction_caisse;recommandation;ville"]
    for i in range(N):
        lines.append(f"{i + 1};{a[i]};{b[i]};{ltr[i]};{towns[region[i]]}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def qualtrics_xlsx(path: Path) -> Path:
    """The Qualtrics export of :func:`qualtrics` (choice text) saved as an Excel workbook."""
    import openpyxl

    src = qualtrics(path.with_suffix(".csv"))
    with open(src, newline="", encoding="utf-8-sig") as fh:
        grid = list(csv.reader(fh))
    src.unlink()
    wb = openpyxl.Workbook()
    for row in grid:
        wb.active.append([None if x == "" else x for x in row])
    wb.save(path)
    return path


def excel_unicode_text(path: Path) -> Path:
    """Excel's "Unicode Text" export: UTF-16 with a byte-order mark, tab-separated."""
    a, b, c, ltr, region = _survey(seed=41)
    lines = ["Kunde\tZufriedenheit Beratung\tZufriedenheit Filiale\tWeiterempfehlung\tRegion"]
    for i in range(N):
        lines.append(f"K{i}\t{a[i]}\t{b[i]}\t{ltr[i]}\t{region[i].replace('South', 'Süd')}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    return path
