from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HeritageConfig(AppConfig):
    name = "heritage"
    verbose_name = "Sites and damage events"

    def ready(self):
        from heritage import changes, readmodel
        from heritage.roles import ensure_roles

        readmodel.connect()
        changes.connect()

        # After every migrate, so a new database (tests included) has the roles and a new
        # permission reaches them; reports is the last app whose permissions they use.
        post_migrate.connect(ensure_roles, sender=self.apps.get_app_config("reports"))
