"""Synthetic input for journey-metrics: web (Segment), email (SendGrid) and CRM (HubSpot) files.

Not part of the product package: ``journey-metrics generate`` imports it when asked. It simulates
customer journeys with vectorised numpy (no per-event Python loop) and renders JSON/CSV with
polars string expressions, one output file at a time. Folders, file names and CRM columns follow
``config/sources/*.yaml``.

Modules, in the order a run uses them:

- ``persons``: who the persons are (names, arrival, behaviour, traits) and their identifiers;
- ``site``, ``channels``: the shop's pages and products, how visits arrive;
- ``journeys``: web and app sessions, invitees, companies and web surveys, as event arrays;
- ``email``: who is mailed what and what happens to each message; SendGrid event JSON;
- ``web``: Segment messages (page, screen, track, identify, alias, group) of the web events;
- ``crm``: HubSpot contacts, deals and feedback, simulated and written;
- ``malformed``: the deliberately bad records and duplicates mixed into the files;
- ``layout``, ``writer``, ``manifest``: file names from the source configs, writing, gzip, the
  list of the files a run wrote (a later run replaces only those);
- ``rand``, ``text``, ``surveys``: deterministic randomness, text fragments, survey scales;
- ``run``: :func:`generate`, which ties them together.

Identifiers are derived from a keyed bijective hash of an ordinal, so messageIds, sg_event_ids,
userIds, invite codes and e-mail addresses are unique by construction, and the same
(persons, seed, start, days) gives byte-identical files.
"""

from journey_metrics_synth.run import GenerateSummary, generate
from journey_metrics_synth.writer import gzip_outputs

__all__ = ["GenerateSummary", "generate", "gzip_outputs"]
