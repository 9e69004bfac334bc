def test_locate_smoke(client, personas):
    client.force_login(personas.resident)
    r = client.get("/api/v1/areas/locate", {"lat": 35.85, "lon": 120.05})
    assert r.status_code == 200, r.content
    assert r.json()["area"]["code"] == "370211001001001"
