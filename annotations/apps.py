from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"

    def ready(self) -> None:
        # Target edits add their own annotations (annotations.signals): this app sits above
        # targets, so it listens to their saves rather than targets calling up.
        from annotations import signals  # noqa: F401
