"""The dispatch briefings (调度通报) and rankings, under the "dispatch" namespace."""

app_name = "dispatch"

urlpatterns = []
