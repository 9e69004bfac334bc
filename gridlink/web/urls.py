from django.urls import path

from gridlink.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("areas/", views.area_index, name="area_index"),
    path("areas/locate/", views.area_locate, name="area_locate"),
    path("areas/<str:code>/", views.area_detail, name="area_detail"),
    path("areas/<str:code>/card/", views.area_card, name="area_card"),
    path("registry/residents/", views.resident_list, name="resident_list"),
    path("registry/residents/lookup/", views.resident_lookup_view, name="resident_lookup"),
    path("registry/residents/<int:pk>/", views.resident_detail, name="resident_detail"),
    path("registry/residents/<int:pk>/unmask/", views.resident_unmask, name="resident_unmask"),
    path("registry/organisations/", views.organisation_list, name="organisation_list"),
    path("registry/organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path(
        "registry/organisations/<int:pk>/unmask/",
        views.organisation_unmask,
        name="organisation_unmask",
    ),
    path("registry/buildings/", views.building_list, name="building_list"),
    path("registry/buildings/<int:pk>/", views.building_detail, name="building_detail"),
]
