from django.urls import path

from gridlink.web.views import areas, home, registry

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", home.login_view, name="login"),
    path("logout/", home.logout_view, name="logout"),
    path("areas/", areas.area_index, name="area_index"),
    path("areas/locate/", areas.area_locate, name="area_locate"),
    path("areas/<str:code>/", areas.area_detail, name="area_detail"),
    path("areas/<str:code>/card/", areas.area_card, name="area_card"),
    path("registry/residents/", registry.resident_list, name="resident_list"),
    path("registry/residents/lookup/", registry.resident_lookup_view, name="resident_lookup"),
    path("registry/residents/<int:pk>/", registry.resident_detail, name="resident_detail"),
    path("registry/residents/<int:pk>/unmask/", registry.resident_unmask, name="resident_unmask"),
    path("registry/organisations/", registry.organisation_list, name="organisation_list"),
    path(
        "registry/organisations/<int:pk>/",
        registry.organisation_detail,
        name="organisation_detail",
    ),
    path(
        "registry/organisations/<int:pk>/unmask/",
        registry.organisation_unmask,
        name="organisation_unmask",
    ),
    path("registry/buildings/", registry.building_list, name="building_list"),
    path("registry/buildings/<int:pk>/", registry.building_detail, name="building_detail"),
]
