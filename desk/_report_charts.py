"""The DMARC reports page's two charts as Vega-Lite specs: messages a period stacked by DMARC
verdict, and the DMARC pass rate. Built once per domain and period (desk/report_views.py keeps
them) because turning an Altair chart into its spec validates it against the whole Vega-Lite schema,
which costs more than everything else a page run draws.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

Spec = dict[str, Any]
PASS_COLOUR, FAIL_COLOUR, RATE_COLOUR = "#2e7d32", "#c62828", "#1565c0"


def volume_charts(over_time: pd.DataFrame, unit: str) -> tuple[Spec, Spec]:
    """(messages a `unit` by DMARC verdict, DMARC pass rate a `unit`) over `volume_over_time` rows,
    as Vega-Lite specs with their data inline, for st.vega_lite_chart."""
    stacked = over_time.melt(
        id_vars="label", value_vars=["dmarc_pass", "dmarc_fail"], var_name="DMARC"
    ).replace({"DMARC": {"dmarc_pass": "pass", "dmarc_fail": "fail"}})
    # Periods with reports only, evenly spaced: reports are often sparse, and a bar a day over
    # years would be a hairline; the labels carry the dates.
    when = alt.X("label:O", title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True))
    bars = (
        alt.Chart(stacked)
        .mark_bar()
        .encode(
            x=when,
            y=alt.Y("value:Q", title="messages", stack="zero"),
            color=alt.Color(
                "DMARC:N",
                scale=alt.Scale(domain=["pass", "fail"], range=[PASS_COLOUR, FAIL_COLOUR]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[alt.Tooltip("label:O", title=unit), "DMARC:N", "value:Q"],
        )
        .properties(height=260)
    )
    rate = (
        alt.Chart(over_time[["label", "dmarc_pass_pct", "messages"]])
        .mark_line(point=True, color=RATE_COLOUR)
        .encode(
            x=when,
            y=alt.Y("dmarc_pass_pct:Q", title="% of messages", scale=alt.Scale(domain=[0, 100])),
            tooltip=[
                alt.Tooltip("label:O", title=unit),
                alt.Tooltip("dmarc_pass_pct:Q", title="DMARC pass %", format=".1f"),
                alt.Tooltip("messages:Q", format=","),
            ],
        )
        .properties(height=260)
    )
    return bars.to_dict(), rate.to_dict()


__all__ = ["FAIL_COLOUR", "PASS_COLOUR", "RATE_COLOUR", "Spec", "volume_charts"]
