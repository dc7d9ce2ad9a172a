"""Web plumbing every app's pages, API and admin share: scoped views and lists, list exports,
form errors, the API base classes, throttling and the admin mixins. Model-less, like all of
``core``: rows are read through ``Model.objects.visible_to(user)``, which each model's
queryset provides."""
