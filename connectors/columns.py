"""Guessing which column of a generic table holds the case, the activity, the
time, the resource and the group, by name first and by content second.

Every guess carries a reason the user can read, and the user's own choices
(``--case-col`` …) always win.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from connectors.dates import DateOptions, format_matched_none, parse_timestamps
from connectors.errors import BadTimestamps, MissingColumn
from connectors.report import distinct, few, tally

SAMPLE_ROWS = 5000

# Normalised names (lower case, punctuation as single spaces), best first.
NAMES: dict[str, list[str]] = {
    "case_id": [
        "case id", "case concept name", "caseid", "case", "case key", "case identifier", "ticket id",
        "ticket", "ticket number", "ticket key", "incident id", "incident", "issue key", "issue id",
        "request id", "process instance", "trace id", "number", "key", "id",
    ],
    "activity": [
        "activity", "concept name", "activity name", "activity id", "event", "event name", "action",
        "status", "state", "task", "step", "operation", "event type", "new value",
    ],
    "timestamp": [
        "timestamp", "time timestamp", "start timestamp", "start time", "start", "event time",
        "datetime", "date time", "time", "date", "sys updated on", "updated", "changed", "created",
        "created at", "complete timestamp", "end timestamp", "end time",
    ],
    "end_timestamp": [
        "end timestamp", "end time", "complete timestamp", "completion time", "completed at",
        "finish time", "finished", "end", "end date", "completed",
    ],
    "resource": [
        "resource", "org resource", "user", "agent", "assignee", "assigned to", "performer",
        "actor", "operator", "owner", "updated by", "author", "changed by",
    ],
    "group": [
        "group", "org group", "assignment group", "team", "queue", "workgroup", "support group",
        "resolver group", "department", "support section",
    ],
}
# The same roles in German, French, Dutch, Spanish, Italian and Portuguese (accents folded), tried after
# the English names: a header such as 'Ticket;Aktivität;Zeitstempel;Gruppe' is read by name, not guessed.
FOREIGN_NAMES: dict[str, list[str]] = {
    "case_id": [
        "fall", "fall id", "fallnummer", "vorgang", "vorgangs id", "vorgangsnummer", "ticketnummer", "ticket nr", "meldung",
        "cas", "id cas", "numero de ticket", "numero du ticket", "dossier", "zaak", "zaak id", "zaaknummer", "casus", "melding",
        "meldingnummer", "caso", "id caso", "numero de caso", "numero caso", "expediente", "incidencia", "pratica",
        "numero ticket", "segnalazione", "chamado", "numero do chamado", "id do caso", "processo",
    ],
    "activity": [
        "aktivitat", "aktivitaet", "tatigkeit", "zustand", "schritt", "aktion", "ereignis", "activite", "etat", "statut",
        "etape", "evenement", "tache", "activiteit", "stap", "actie", "gebeurtenis", "taak", "actividad", "estado", "paso",
        "accion", "evento", "tarea", "attivita", "stato", "fase", "azione", "compito", "atividade", "actividade", "etapa",
        "acao", "tarefa",
    ],
    "timestamp": [
        "zeitstempel", "zeitpunkt", "datum", "zeit", "datum uhrzeit", "uhrzeit", "startzeit", "horodatage", "date heure",
        "heure", "date de debut", "tijdstempel", "tijdstip", "datum tijd", "tijd", "marca de tiempo", "fecha", "fecha hora",
        "fecha y hora", "hora", "marca temporale", "data", "data ora", "ora", "data hora", "data e hora", "carimbo de data hora",
    ],
    "end_timestamp": [
        "endzeit", "ende", "enddatum", "date de fin", "fin", "eindtijd", "einde", "fecha fin", "hora fin", "data fine", "fine",
        "data fim", "fim",
    ],
    "resource": [
        "bearbeiter", "benutzer", "mitarbeiter", "ressource", "verantwortlich", "zugewiesen an", "utilisateur", "responsable",
        "intervenant", "assigne a", "medewerker", "gebruiker", "behandelaar", "uitvoerder", "recurso", "usuario", "agente",
        "asignado a", "tecnico", "risorsa", "utente", "operatore", "assegnatario", "incaricato", "utilizador", "responsavel",
        "atribuido a",
    ],
    "group": [
        "gruppe", "abteilung", "bearbeitergruppe", "zustandige gruppe", "warteschlange", "groupe", "equipe",
        "groupe d affectation", "groep", "afdeling", "wachtrij", "grupo", "equipo", "departamento", "cola", "gruppo",
        "squadra", "reparto", "coda", "equipa", "fila",
    ],
}
for _role, _names in FOREIGN_NAMES.items():
    NAMES[_role] += [n for n in _names if n not in NAMES[_role]]
START_NAMES = {"start timestamp", "start time", "start", "start date", "started", "started at"}
END_NAMES = set(NAMES["end_timestamp"])
XES_LIFECYCLE = {"schedule", "assign", "start", "complete", "suspend", "resume", "withdraw", "ate_abort",
                 "pi_abort", "reassign", "autoskip", "manualskip", "unknown"}


def normalise(name: str) -> str:
    """Return ``name`` lower-cased, accents folded ('Aktivität' -> 'aktivitat'), punctuation as single spaces."""
    folded = unicodedata.normalize("NFKD", name.lower().replace("ß", "ss"))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", folded).strip()


def _name_forms(name: str) -> tuple[str, str]:
    """``name`` normalised as written and with camel case split ('ActivityID' -> 'activity id')."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return normalise(name), normalise(split)


@dataclass
class Guess:
    column: str
    reason: str
    note: str | None = None  # what the load report should say about the choice
    warning: str | None = None  # a choice that is a guess the user should check


def guess_columns(
    frame: pd.DataFrame, given: dict[str, str], *, dates: DateOptions, path: str = ""
) -> dict[str, Guess]:
    """Return the column for each canonical role the table can fill."""
    columns = list(frame.columns)
    for role, name in given.items():
        for part in name.split("+") if role == "activity" else [name]:
            if part not in frame.columns:
                raise MissingColumn(_missing(path, role, part, columns))
    sample = _sample(frame)
    chosen: dict[str, Guess] = {role: Guess(col, "given") for role, col in given.items()}
    taken = {part for g in chosen.values() for part in g.column.split("+")}

    date_like = {c: _date_share(sample[c], dates) for c in columns if c not in taken}

    if "timestamp" not in chosen:
        starts = [c for c in columns if normalise(c) in START_NAMES and date_like.get(c, 0) >= 0.8]
        ends = [c for c in columns if normalise(c) in END_NAMES and date_like.get(c, 0) >= 0.8]
        if starts and ends and "end_timestamp" not in chosen:
            chosen["timestamp"] = Guess(starts[0], f"name {starts[0]!r} marks the start of an interval")
            chosen["end_timestamp"] = Guess(ends[0], f"name {ends[0]!r} marks the end of an interval")
        else:
            pick = _by_name("timestamp", columns, taken, lambda c: date_like.get(c, 0) >= 0.8)
            if pick:
                chosen["timestamp"] = Guess(pick, f"name {pick!r} and {date_like[pick]:.0%} of sampled values are dates")
            else:
                dated = sorted((c for c in columns if c not in taken and date_like.get(c, 0) >= 0.9),
                               key=lambda c: -date_like[c])
                if dated:
                    chosen["timestamp"] = Guess(dated[0], f"content: {date_like[dated[0]]:.0%} of sampled values are dates")
                else:
                    # A column named for the role wins even when its values do not
                    # read as dates: the parse then says which values fail and why.
                    named = _by_name("timestamp", columns, taken, lambda c: True, exact_only=True)
                    if named:
                        chosen["timestamp"] = Guess(named, f"name {named!r}, though only {date_like.get(named, 0):.0%} of sampled values read as dates")
        if "timestamp" in chosen:
            taken.add(chosen["timestamp"].column)
        if "end_timestamp" in chosen:
            taken.add(chosen["end_timestamp"].column)

    if "case_id" not in chosen:
        pick = _by_name("case_id", columns, taken, lambda c: _repeats(sample[c]) or normalise(c) in ("case id", "case concept name", "case"))
        if pick:
            chosen["case_id"] = Guess(pick, f"name {pick!r} ({tally(_distinct(frame[pick]))} distinct values)")
        else:
            pick = _case_by_content(frame, sample, columns, taken, date_like)
            if pick:
                chosen["case_id"] = Guess(pick, f"content: {tally(_distinct(frame[pick]))} distinct identifier-like values, each repeated")
        if "case_id" in chosen:
            taken.add(chosen["case_id"].column)

    if "activity" not in chosen:
        pick = _by_name("activity", columns, taken, lambda c: _low_cardinality(sample[c]) and not _row_ids(sample[c]))
        if pick:
            chosen["activity"] = Guess(pick, f"name {pick!r} ({_distinct_values(frame[pick])} distinct values)")
            if _numeric_codes(frame[pick]):
                # Named for the role, so its codes are activities (a lookup table is not at hand).
                chosen["activity"].reason += ", numeric codes"
                chosen["activity"].note = (
                    f"activity column {pick!r} holds numeric codes ({few(frame[pick].dropna().unique())}); "
                    "each code is taken as an activity name (pass --activity-col to choose another column)"
                )
        else:
            pick, rivals = _activity_by_content(sample, columns, taken, date_like)
            if pick:
                chosen["activity"] = Guess(pick, f"content: {_distinct_values(frame[pick])} distinct text values, the fewest of any text column")
                if rivals:
                    others = ", ".join(f"{c!r} ({n:,})" for n, c in rivals)
                    chosen["activity"].warning = (
                        f"no column is named for the activity; {pick!r} ({sample[pick].nunique():,} distinct values) was guessed "
                        f"over {others}, a close call: check the activities and pass --activity-col NAME if it is wrong")
        if "activity" in chosen:
            taken.add(chosen["activity"].column)
            sub = _substatus_column(frame, sample, taken)
            if sub and "+" not in chosen["activity"].column:
                chosen["activity"] = Guess(
                    f"{chosen['activity'].column}+{sub}",
                    f"{chosen['activity'].reason}, joined with {sub!r}, whose values are sub-statuses, not XES lifecycle transitions",
                )
                taken.add(sub)

    for role in ("end_timestamp", "resource", "group"):
        if role in chosen:
            continue
        if role == "end_timestamp":
            pick = _by_name(role, columns, taken, lambda c: date_like.get(c, 0) >= 0.8, exact_only=True)
        else:
            pick = _by_name(role, columns, taken, lambda c: not date_like.get(c, 0) >= 0.8)
        if pick:
            chosen[role] = Guess(pick, f"name {pick!r}")
            taken.add(pick)

    if "timestamp" not in chosen:
        _explain_no_timestamp(sample, columns, given, dates, path)
    for role in ("case_id", "activity", "timestamp"):
        if role not in chosen:
            raise MissingColumn(_missing(path, role, None, columns))
    return chosen


def _explain_no_timestamp(sample: pd.DataFrame, columns: list[str], given: dict[str, str], dates: DateOptions, path: str) -> None:
    """Raise what went wrong when no column was found for the timestamp, if it is not that there is none.

    A --date-format that reads nothing hides every column of dates; a column of
    dates given for another role (--end-timestamp-col) leaves none for the start.
    """
    place = f"{path}: " if path else ""
    plain = replace(dates, date_format=None)
    for column in columns:
        role = next((r for r, c in given.items() if column in c.split("+")), None)
        if role in ("end_timestamp", "resource", "group", "case_id", "activity") and _date_share(sample[column], plain) >= 0.8:
            flag = "--" + role.replace("_id", "").replace("_", "-") + "-col"
            raise MissingColumn(f"{place}no column is left for the timestamp: {column!r}, the column of dates, is given as {flag}; "
                                f"pass --timestamp-col NAME for the start")
        if role is None and dates.date_format and _date_share(sample[column], plain) >= 0.8:
            example = str(sample[column].dropna().iloc[0])
            raise BadTimestamps(format_matched_none(dates.date_format, column, path, example))


def lifecycle_column(frame: pd.DataFrame, taken: set[str]) -> str | None:
    """Return the column holding XES lifecycle transitions (start, complete …), if any."""
    for c in frame.columns:
        if c in taken or normalise(c) not in ("lifecycle transition", "lifecycle", "transition", "event type"):
            continue
        values = {str(v).lower() for v in frame[c].dropna().unique()[:50]}
        if values and values <= XES_LIFECYCLE:
            return c
    return None


def _substatus_column(frame: pd.DataFrame, sample: pd.DataFrame, taken: set[str]) -> str | None:
    for c in frame.columns:
        if c in taken or normalise(c) not in ("lifecycle transition", "sub status", "substatus", "sub state"):
            continue
        values = {str(v).lower() for v in sample[c].dropna().unique()[:50]}
        if values and not values <= XES_LIFECYCLE and _low_cardinality(sample[c]):
            return c
    return None


def _by_name(role: str, columns: list[str], taken: set[str], accept, exact_only: bool = False) -> str | None:  # type: ignore[no-untyped-def]
    names = NAMES[role]
    normal = {c: _name_forms(c) for c in columns if c not in taken}
    for wanted in names:
        for c, forms in normal.items():
            if wanted in forms and accept(c):
                return c
    if exact_only:
        return None
    for wanted in names:
        if len(wanted) < 4:
            continue
        for c, forms in normal.items():
            if role == "activity" and forms[1].rsplit(" ", 1)[-1] in _ID_WORDS:
                continue  # 'EventID', 'event_key': an identifier, unless named exactly ('activity id')
            if any(re.search(rf"\b{re.escape(wanted)}\b", n) for n in forms) and accept(c):
                return c
    return None


_ID_WORDS = {"id", "key", "uuid", "guid"}


def _case_by_content(frame, sample, columns, taken, date_like) -> str | None:  # type: ignore[no-untyped-def]
    best: tuple[float, str] | None = None
    n = len(sample)
    for c in columns:
        if c in taken or date_like.get(c, 0) >= 0.5:
            continue
        s = sample[c].dropna().astype(str)
        if len(s) < 2:
            continue
        distinct = s.nunique()
        if not (1 < distinct < len(s)):
            continue
        has_digits = s.str.contains(r"\d", regex=True).mean()
        # Identifiers repeat a few times each and usually carry digits.
        score = has_digits + min(distinct / n * 5, 1.0) - (1.0 if distinct < 0.005 * n else 0.0)
        if best is None or score > best[0]:
            best = (score, c)
    return best[1] if best and best[0] > 0.5 else None


def _activity_by_content(sample, columns, taken, date_like):  # type: ignore[no-untyped-def]
    """The text column with the fewest distinct values, and the other candidates close to it (a guess to flag)."""
    candidates: list[tuple[int, str]] = []
    for c in columns:
        if c in taken or date_like.get(c, 0) >= 0.5:
            continue
        s = sample[c].dropna().astype(str)
        if s.empty or not _low_cardinality(sample[c]):
            continue
        if s.str.contains(r"[A-Za-z]", regex=True).mean() < 0.9:
            continue
        distinct = s.nunique()
        if distinct >= 2:
            candidates.append((distinct, c))
    if not candidates:
        return None, []
    candidates.sort(key=lambda x: x[0])
    best = candidates[0]
    # Another text column of the same order of distinct values could as well be the activity.
    rivals = [(n, c) for n, c in candidates[1:] if n <= max(4 * best[0], best[0] + 20)]
    return best[1], rivals[:3]


def _sample(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= SAMPLE_ROWS:
        return frame
    idx = np.unique(np.r_[np.arange(SAMPLE_ROWS // 2), np.linspace(0, len(frame) - 1, SAMPLE_ROWS // 2).astype(int)])
    return frame.iloc[idx]


def _date_share(values: pd.Series, dates: DateOptions) -> float:
    present = values.dropna()
    if present.empty:
        return 0.0
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        return 1.0
    if pd.api.types.is_numeric_dtype(present.dtype) and not _epoch_like(present):
        return 0.0
    head = present.head(400)
    if head.astype(str).str.contains(r"\d", regex=True).mean() < 0.5:
        return 0.0
    if not pd.api.types.is_numeric_dtype(head.dtype) and head.astype(str).str.len().max() < 6:
        return 0.0
    try:
        parsed = parse_timestamps(head.reset_index(drop=True), options=dates, tolerate_bad=True)
    except BadTimestamps:
        return 0.0
    if parsed.description.startswith("epoch") and not _epoch_like(head):
        return 0.0
    return float(parsed.values.notna().mean())


def _epoch_like(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(numbers.notna().all() and ((numbers > 9e8) & (numbers < 5e12)).all())


def _numeric_codes(values: pd.Series) -> bool:
    """Whether every present value is a whole number (codes such as 10, 20, 30)."""
    s = values.dropna()
    if s.empty:
        return False
    if pd.api.types.is_integer_dtype(s.dtype):
        return True
    distinct = pd.Series(s.unique()).astype(str)  # a regular expression per distinct value, not per row
    return bool(distinct.str.fullmatch(r"\s*[+-]?\d+\s*").all())


def _row_ids(values: pd.Series) -> bool:
    """Whether the values are numbers that hardly repeat: an event's own id ('EventID'), not activity codes."""
    s = values.dropna()
    return len(s) > 1 and _numeric_codes(s) and s.nunique() > 0.5 * len(s)


def _repeats(values: pd.Series) -> bool:
    s = values.dropna()
    return not s.empty and s.nunique() < len(s)


def _low_cardinality(values: pd.Series) -> bool:
    s = values.dropna()
    return not s.empty and s.nunique() <= max(50, int(0.2 * len(s)))


def _distinct(values: pd.Series) -> int:
    return int(values.nunique(dropna=True))


def _distinct_values(values: pd.Series) -> str:
    """How many distinct values, marked so that partitions of cases merge their sets (when there are few)."""
    unique = values.dropna().unique()
    return distinct(unique) if len(unique) <= 5000 else f"{len(unique):,}"


def _missing(path: str, role: str, wanted: str | None, columns: list[str]) -> str:
    place = f"{path}: " if path else ""
    flag = "--" + role.replace("_id", "").replace("_", "-") + "-col"
    shown = ", ".join(repr(c) for c in columns[:12]) + (" …" if len(columns) > 12 else "")
    if wanted:
        close = difflib.get_close_matches(wanted, columns, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{place}no column {wanted!r} for {role} (columns: {shown}){hint}"
    if len(columns) == 1:
        # One column whose name holds another separator: the delimiter is wrong.
        found = next((d for d in (";", ",", "\t", "|") if d in columns[0]), None)
        if found:
            return (f"{place}the file reads as one column {columns[0]!r}, whose name holds {found!r}; "
                    f"pass --delimiter {found!r} (or leave --delimiter out to detect it)")
    candidates = [c for c in columns if any(w in normalise(c) for w in NAMES[role][:6])]
    hint = f" Closest: {candidates[0]!r}." if candidates else ""
    return f"{place}no column found for {role} among {shown}.{hint} Pass {flag} NAME"
