from django.urls import path

from . import apis

app_name = "predictions-api"

urlpatterns = [
    path("shows/<id:show_id>", apis.ShowPredictionApi.as_view(), name="show-prediction"),
    path(
        "shows/<id:show_id>/generate",
        apis.ShowPredictionGenerateApi.as_view(),
        name="show-prediction-generate",
    ),
    path("settings", apis.PredictionSettingsApi.as_view(), name="settings"),
    path("recommendations", apis.RecommendationsApi.as_view(), name="recommendations"),
]
