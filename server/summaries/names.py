"""The names of the figures and distinct items the summary tables hold (their meaning in
docs/report.md; server/summaries/rows.py counts them, read.py adds them up into indicators)."""

# Figure names in summary_figures (the indicators are sums of them, see server/summaries/read.py).
SESSIONS, AUDIENCE, REPORTED, WITHOUT_NAMES = (
    "sessions",
    "audience_estimate",
    "reported",
    "reported_without_names",
)
PERSON_TIMES, HANDOUTS, COPIES, PLOTS, AREA = (
    "person_times",
    "handouts",
    "copies",
    "plots",
    "area_mu",
)
# Distinct items in summary_item_months.
TRAINEES, TECHNOLOGIES, VARIETIES = "trainees", "technologies", "varieties"
