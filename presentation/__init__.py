"""The one presentation vocabulary: numbers, money, kWh, percentages, ranges, comparisons,
target-status words and chart figures, for HTML, plotly, SVG, mail and JSON labels alike.

It sits below both screens (`dashboard`) and deliveries (`reports`), and above the metric
layer and `targets`/`insights`; docs/architecture.md shows where it fits.
"""
