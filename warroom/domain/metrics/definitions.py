"""The metric definitions as people read them, in one place.

`warroom metrics --help` prints this text and docs/metrics.md repeats it; it lives apart from
warroom.domain.metrics.report so that building the CLI's parser does not import the computation.
"""

DEFINITIONS = """\
definitions (per incident):
  started       when the impact began (--started-at when declared; defaults to detected)
  detected      the first alert or the declaration (--detected-at; defaults to declared)
  acknowledged  the first acknowledgement
  resolved      the first move to Resolved (a reopened incident keeps its first resolution)

metrics over a period (an incident belongs to the period in which it was DETECTED):
  MTTD  mean(detected - started)
  MTTA  mean(acknowledged - detected); incidents not yet acknowledged are left out and
        counted as open; those resolved without any acknowledgement are left out and
        counted as "never acknowledged"
  MTTR  mean(resolved - detected); incidents not yet resolved are left out, counted as open
  MTTF  mean time from a resolution to the next incident's start: the incidents of the
        whole history (same service/severity filter) in start order, each gap measured
        from the latest resolution so far; an incident starting before that, or while an
        earlier one is still unresolved, overlaps it (the same failure: no sample, counted
        as overlapping); a gap counts in the period where the incident ending it was
        detected; an incident still open ends its gap like any other
  incidents/month  incidents detected in the period per 30 days (a 30-day period: the count)
  medians: the middle value (mean of the two middle ones); p90: nearest rank, the
  ceil(0.9 n)-th smallest value. Negative durations (clock skew, typos) count as 0.

targets (met only when strictly better): MTTD < 5 min, MTTA < 5 min, MTTR < 30 min,
  MTTF > 720 h, fewer than 10 incidents a month.
trend: the same metric over the previous period of the same length; arrow, change in
  percent, and whether that direction is better or worse for that metric. No comparison
  when the previous period has no value, or when the room has no incident before the period.
per-month series: calendar months in UTC, by month of detection; the last 12 months.
"""
