from tests.factories import login, make_board, make_thread, make_user


def test_index_lists_boards(client):
    board = make_board("Broadband", description="Wifi and speeds")
    make_thread(board, title="Router drops wifi")
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Broadband" in page and "Router drops wifi" in page


def test_login_and_reply(client):
    user = make_user("alice")
    thread = make_thread(title="Question about billing")
    login(client, user)
    response = client.post(
        f"/t/{thread.id}/reply", data={"body": "Here is an **answer**", "submit": "Post reply"}
    )
    assert response.status_code == 302
    page = client.get(thread.url).get_data(as_text=True)
    assert "<strong>answer</strong>" in page
    assert thread.reply_count == 1
