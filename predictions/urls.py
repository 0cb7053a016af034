app_name = "predictions"

urlpatterns = []
