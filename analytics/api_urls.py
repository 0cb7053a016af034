app_name = "analytics-api"

urlpatterns = []
