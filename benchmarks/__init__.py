"""Measured speed, memory and scale of upslife, each figure beside a baseline of the same run.

``python -m benchmarks.run [--scale small|full] [--json out.json]`` runs everything and
prints one table; ``docs/performance.md`` has the results, the machine they ran on, and what
dominates each figure. The pieces:

- :mod:`benchmarks.fleet`: a seeded, deterministic fleet (owners in many time zones,
  resellers, licenses that append, stack, upgrade and queue, battery and warranty dates)
  written to a store in batched transactions, and cached on disk for reuse;
- :mod:`benchmarks.b1_rules`: the rules in memory, beside plain date arithmetic;
- :mod:`benchmarks.b2_sweep`: the daily sweep on SQLite at two fleet sizes, beside raw SQL,
  a full scan and a bare ``MIMEText``, with the sweep's peak RSS measured in a child process;
- :mod:`benchmarks.b3_reports`: the MyRenewals CSV beside a bare ``csv.writer`` dump;
- :mod:`benchmarks.b4_postgres`: the sweep on PostgreSQL with one and two workers.

Absolute times on shared machines are noise; every figure leads with a ratio to a baseline
timed in the same run, on the same data.
"""
