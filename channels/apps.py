from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    # "channels" is also the name of a well-known package; the label stays ours.
    name = "channels"
    label = "channels"

    def ready(self) -> None:
        from channels import signals

        signals.connect()
