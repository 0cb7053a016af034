app_name = "predictions-api"

urlpatterns = []
