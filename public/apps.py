from django.apps import AppConfig


class PublicConfig(AppConfig):
    """The public side: service plates with QR codes, the public page of a toilet, public
    reports and maintenance requests (线索) and the township's queue of them, 受益户公示.

    Sits above rectification (a report becomes a ledger entry through its services) and below
    reports; no lower app imports it."""

    name = "public"
    verbose_name = "群众监督"

    def ready(self):
        from toilets.hooks import toilet_links

        from .links import plate_link

        toilet_links.connect(plate_link)
