"""A household's move writes each of its toilets, and every such write takes the villages'
version rows (the rollups' triggers) until the commit: the move locks all the household's
toilets before writing the first, so that an edit of another of its toilets waits for the
move instead of deadlocking with it, and is then refused as stale rather than overwriting
the move."""

import pytest

from core.errors import StaleEditError
from tests.factories import ToiletFactory
from tests.two_sessions import (
    pause_after_first_save,
    session,
    two_sessions,
    wait_until_blocked,
)
from toilets.models import Household, Toilet
from toilets.services import save_household, save_toilet


@pytest.mark.django_db(transaction=True)
@two_sessions
def test_a_toilet_edited_while_its_household_moves_waits_and_is_refused_as_stale(
    tree, users, register, monkeypatch
):
    second = ToiletFactory(household=register.h1)
    first_written, go = pause_after_first_save(monkeypatch, Toilet, "mover")
    errors, refused = [], []

    def move():
        household = Household.objects.get(pk=register.h1.pk)
        household.village = tree.v2
        save_household(actor=users.township, household=household)

    def edit():
        toilet = Toilet.objects.get(pk=second.pk)  # as the edit page read it
        toilet.name = "东侧厕所"
        try:
            save_toilet(actor=users.township, toilet=toilet, expected_version=toilet.version)
        except StaleEditError as exc:
            refused.append(exc)

    mover = session(move, errors, "mover")
    mover.start()
    assert first_written.wait(timeout=10)
    editor = session(edit, errors, "edit")
    editor.start()
    assert wait_until_blocked(editor)  # the move locked the second toilet before writing
    go.set()
    mover.join(timeout=15)
    editor.join(timeout=15)

    assert errors == []  # no deadlock on either side
    assert len(refused) == 1  # the move changed the toilet since the edit page read it
    second.refresh_from_db()
    assert second.village_id == tree.v2.pk and second.name != "东侧厕所"
