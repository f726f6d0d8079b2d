def test_create_and_resolve_books_a_retro(factory, auth, client):
    incident, retro = factory.resolved_incident(auth)
    assert incident["status"] == "resolved"
    assert retro["incident_id"] == incident["id"]
    assert retro["participants"] == [incident["commander"]]
    listed = client.get("/api/v1/incidents", headers=auth).get_json()
    assert [i["id"] for i in listed["items"]] == [incident["id"]]
