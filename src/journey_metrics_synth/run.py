"""The generator's entry point: simulate the journeys, then write each source's files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from journey_metrics_synth import manifest
from journey_metrics_synth.crm import CrmFacts, CrmWriter, months
from journey_metrics_synth.email import (
    Campaign,
    Mail,
    Mailer,
    SendGridWriter,
    campaigns,
    utm_table,
)
from journey_metrics_synth.journeys import (
    K_INVITE,
    K_ORDER,
    K_SIGNED_UP,
    Counters,
    WebEvents,
    click_sessions,
    experience,
    web_journeys,
)
from journey_metrics_synth.layout import Layout
from journey_metrics_synth.malformed import MALFORMED_EMAIL, MALFORMED_WEB, Extras
from journey_metrics_synth.persons import Identities, People
from journey_metrics_synth.rand import DAY_MS, HOUR_MS, Arr, Hash, lognormal_ms, stream
from journey_metrics_synth.site import Site
from journey_metrics_synth.web import SegmentWriter
from journey_metrics_synth.writer import prepare_folders, write_json_array, write_lines

ProgressFn = Callable[[str, float], None]
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate` wrote.

    ``records`` counts records written per source (web lines, SendGrid events, CRM rows), including
    the deliberately ``malformed`` records and exact ``duplicates`` (both also counted separately).
    """

    persons: int
    files: int
    records: dict[str, int]
    out_dir: Path
    malformed: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)


@dataclass
class _Run:
    """The fixed parts of one run."""

    out_dir: Path
    seed: int
    start: date
    days: int
    layout: Layout
    progress: ProgressFn | None

    @property
    def start_ms(self) -> int:
        start = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        return int(start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * DAY_MS

    def stream(self, k: int) -> np.random.Generator:
        return stream(self.seed, k)

    def report(self, label: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(label, fraction)

    def day_label(self, d: int) -> str:
        return (self.start + timedelta(days=d)).isoformat()


def generate(
    out_dir: Path,
    persons: int,
    seed: int = 42,
    *,
    start: date = date(2026, 1, 5),
    days: int = 90,
    progress: ProgressFn | None = None,
) -> GenerateSummary:
    """Write synthetic web, email and CRM input for ``persons`` persons under ``out_dir``.

    All events fall in [start, start + days) UTC. Files (folders and names after
    ``config/sources/``): ``web/events-YYYY-MM-DD.jsonl`` and ``email/sendgrid-YYYY-MM-DD.json``
    (JSON array) or ``.jsonl`` (one event per line), one per day; monthly
    ``crm/contacts-YYYY-MM.csv`` (the first with a UTF-8 BOM; a contact changed in a later month
    is exported again), ``crm/deals-YYYY-MM.csv`` and ``crm/feedback-YYYY-MM.csv``.
    ``out_dir/.journey-metrics-generated`` lists the files written (``manifest``): the files an
    earlier run listed there are removed first, and any other file ``run`` would read in the
    source folders is a ``UsageError`` before anything is touched. The same arguments give
    byte-identical files. ``progress(label, fraction)`` is called per file.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    if days < 1:
        raise ValueError("days must be at least 1")
    run = _Run(Path(out_dir), seed, start, days, Layout.from_config(), progress)
    prepare_folders(run.out_dir, run.layout)
    may_write = _may_write(run)
    # listed before they are written: the files of a run stopped half-way are still its own
    manifest.record(run.out_dir, may_write)
    h = Hash(seed)
    site = Site.build()
    ppl = People.build(run.stream(1), persons, h, run.start_ms, days)
    ctr = Counters()
    run.report("journeys", 0.0)

    web = web_journeys(run.stream, ppl, site, ctr, run.end_ms)
    run.report("journeys", 0.4)
    camps = campaigns(start, days)
    web, mail, signup_ts = _mail_and_clicks(run, ppl, site, ctr, web, camps)
    run.report("journeys", 0.6)
    facts = _crm_facts(web, signup_ts, ctr)
    # the whole experience: app screens and aliases, companies, web surveys (its own stream, so
    # the journeys above do not depend on it)
    web = WebEvents.concat([web, experience(run.stream(10), h, web, signup_ts, run.end_ms)])

    ids = Identities(h, ppl)
    utm = utm_table(camps)
    malformed: dict[str, int] = {}
    duplicates: dict[str, int] = {}
    records: dict[str, int] = {}
    files = _write_web(run, SegmentWriter(h, ids, site, utm), web, records, malformed, duplicates)
    del web
    files += _write_email(run, SendGridWriter(h, ids, site, utm, camps), mail, records,
                          malformed, duplicates)  # fmt: skip
    crm = CrmWriter(h, ids, ppl, run.layout, run.out_dir, months(run.start_ms, run.end_ms))
    crm_files, records["crm"], malformed["crm"] = crm.write(
        run.stream(9), run.stream(11), facts, run.end_ms
    )
    files += crm_files
    run.report("crm", 1.0)
    duplicates["crm"] = 0
    manifest.record(run.out_dir, manifest.existing(run.out_dir, may_write))
    return GenerateSummary(
        persons=persons,
        files=files,
        records=records,
        out_dir=run.out_dir,
        malformed=malformed,
        duplicates=duplicates,
    )


def _may_write(run: _Run) -> list[str]:
    """Every file the run may write: an email day's is an array or lines, a CRM month without
    rows has none (the manifest lists them all until the files are written)."""
    days = [run.day_label(d) for d in range(run.days)]
    month_labels = [label for label, _, _ in months(run.start_ms, run.end_ms)]
    layout = run.layout
    return [
        *(kind.relative(d) for kind in (layout.web_events, layout.email_array, layout.email_lines)
          for d in days),
        *(kind.relative(m) for kind in (layout.contacts, layout.deals, layout.feedback)
          for m in month_labels),
    ]


def _signup_times(web: WebEvents, persons: int) -> Arr:
    signup_ts = np.full(persons, _NEVER, dtype=np.int64)
    m = web.kind == K_SIGNED_UP
    signup_ts[web.person[m]] = web.ts[m]
    return signup_ts


def _orders_in_time_order(web: WebEvents) -> Arr:
    orders = np.flatnonzero(web.kind == K_ORDER)
    out: Arr = orders[np.argsort(web.ts[orders], kind="stable")]
    return out


def _mail_and_clicks(
    run: _Run, ppl: People, site: Site, ctr: Counters, web: WebEvents, camps: list[Campaign]
) -> tuple[WebEvents, Mail, Arr]:
    """Welcome mails and campaigns, the web sessions their clicks open, then the confirmations
    of every order. Returns (web events with the click sessions, mail events, signup times)."""
    signup_ts = _signup_times(web, ppl.n)
    mailer = Mailer(run.stream(5), ppl, site, ctr, camps)
    mail = mailer.welcome_and_campaigns(signup_ts, run.end_ms)
    clicks = mailer.followed_clicks(mail)
    camp_utm = np.array([c.utm for c in camps], dtype=np.int64)
    sessions = click_sessions(
        run.stream(6),
        ppl,
        site,
        ctr,
        mail.person[clicks],
        mail.ts[clicks],
        camp_utm[mail.camp[clicks]],
        mail.path[clicks],
    )
    web = WebEvents.concat([web, sessions.before(run.end_ms)])
    orders = _orders_in_time_order(web)
    confirmations = mailer.order_confirmations(web.person[orders], web.ts[orders])
    return web, Mail.concat([mail, confirmations]).before(run.end_ms), signup_ts


def _crm_facts(web: WebEvents, signup_ts: Arr, ctr: Counters) -> CrmFacts:
    """First orders, and who invited somebody that signed up."""
    persons = len(signup_ts)
    orders = _orders_in_time_order(web)
    first_order = np.full(persons, _NEVER, dtype=np.int64)
    np.minimum.at(first_order, web.person[orders], web.ts[orders])
    referrer_ok = np.zeros(persons, dtype=bool)
    su = np.flatnonzero((web.kind == K_SIGNED_UP) & (web.aux >= 0))
    code_owner = np.full(max(ctr.invite, 1), -1, dtype=np.int64)
    iv = np.flatnonzero(web.kind == K_INVITE)
    code_owner[web.aux[iv]] = web.person[iv]
    owners = code_owner[web.aux[su]]
    referrer_ok[owners[owners >= 0]] = True
    return CrmFacts(signup_ts, first_order, referrer_ok)


def _write_web(run: _Run, writer: SegmentWriter, web: WebEvents, records: dict[str, int],
               malformed: dict[str, int], duplicates: dict[str, int]) -> int:
    """One JSON-lines file per day received (a few events arrive late, in the next day's file)."""
    rng = run.stream(7)
    n_web = len(web)
    late = rng.random(n_web) < 0.002
    recv = web.ts + np.where(
        late, lognormal_ms(rng, 2 * HOUR_MS, 1.0, n_web), rng.uniform(50, 2_000, n_web)
    ).astype(np.int64)
    order = np.argsort(recv, kind="stable")
    web = web.take(order)
    file_day = np.minimum((recv[order] - run.start_ms) // DAY_MS, run.days - 1)
    bounds = np.searchsorted(file_day, np.arange(run.days + 1), side="left")
    extras = Extras(rng, n_web, run.days, file_day, MALFORMED_WEB)
    malformed["web"], duplicates["web"] = extras.malformed, extras.duplicates
    records["web"] = 0
    for d in range(run.days):
        rows, kinds, keys = extras.file_rows(rng, int(bounds[d]), int(bounds[d + 1]), d)
        lines = writer.lines(web.take(rows), keys, kinds)
        write_lines(run.layout.web_events.path(run.out_dir, run.day_label(d)), lines)
        records["web"] += len(lines)
        run.report("web", (d + 1) / run.days)
    return run.days


def _write_email(run: _Run, writer: SendGridWriter, mail: Mail, records: dict[str, int],
                 malformed: dict[str, int], duplicates: dict[str, int]) -> int:
    """One file per day sent: a JSON array or JSON lines (the first day an array, the second
    lines, then at random)."""
    rng = run.stream(8)
    mail = mail.take(np.argsort(mail.ts, kind="stable"))
    n_mail = len(mail)
    mday = np.minimum((mail.ts - run.start_ms) // DAY_MS, run.days - 1)
    bounds = np.searchsorted(mday, np.arange(run.days + 1), side="left")
    extras = Extras(rng, n_mail, run.days, mday, MALFORMED_EMAIL)
    malformed["email"], duplicates["email"] = extras.malformed, extras.duplicates
    as_array = rng.random(run.days) < 0.5
    as_array[0] = True
    if run.days > 1:
        as_array[1] = False
    records["email"] = 0
    for d in range(run.days):
        rows, kinds, keys = extras.file_rows(rng, int(bounds[d]), int(bounds[d + 1]), d)
        lines = writer.lines(mail.take(rows), keys, kinds)
        if as_array[d]:
            write_json_array(run.layout.email_array.path(run.out_dir, run.day_label(d)), lines)
        else:
            write_lines(run.layout.email_lines.path(run.out_dir, run.day_label(d)), lines)
        records["email"] += len(lines)
        run.report("email", (d + 1) / run.days)
    return run.days
