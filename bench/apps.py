from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark commands (`make bench`, `make bench-scale`): docs/scaling.md reads their figures."""

    name = "bench"
    label = "bench"
    verbose_name = "Benchmarks"
