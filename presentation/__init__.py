"""The one presentation vocabulary: how numbers, ranges, comparisons, moments, target statuses
and charts read, for HTML, plotly, SVG, mail and JSON labels alike (docs/architecture.md,
section "Presentation vocabulary").

It sits below both screens (`dashboard`) and deliveries (`reports`), which never import each
other. Where each word is spelled, once:

- numbers, money (AUD cents), kWh, hours and percentages: metrics.formatting (below
  `targets` and `insights`, which word their numbers with it too);
- preset, comparison and date-span words, and the allowed date bounds: metrics.periods;
- target status words ("On track" … "Not started"): targets.queries.status_word;
- ranges, comparisons, moments ("10:34 pm") and change directions: presentation.wording;
- chart figures for plotly: presentation.charts; the same figures as SVG: presentation.svg;
- widget payloads that screens and PDFs print: presentation.widgets;
- template filters: presentation.templatetags.vocabulary.
"""
