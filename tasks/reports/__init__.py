"""What HR and the boss read: reports computed from storage, in one place.

- `relay`: who a run waits on and since when, each leg's state, the run's artifacts and log
  lines (published by tasks/status.py; the CLI's `jieli runs` table).
- `record`: the HR overview of runs and one hire's training record.
- `verdict`: the outcome and findings as people read them, and the verdict's markdown.
- `dashboard` and `charts`: per department and position, with SVG charts.
- `employee` and `export`: one employee's report, as a page, XLSX and CSV.
- `effectiveness`: completers against the others on a metric.
"""
