"""The scoping boundary at the city and province levels: a city user sees its counties only,
another city's county and everything in it is a 404; a province user sees its cities; neither
writes field data."""

import pytest
from django.urls import reverse

from regions.choices import Role
from regions.models import Region
from regions.scoping import has_capability
from tests.factories import HouseholdFactory, ToiletFactory, UserFactory, region
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db


@pytest.fixture
def upper(tree):
    city2 = region("450800000000", "贵港市", tree.province)
    county = region("450802000000", "港北区", city2)
    village = region("450802100201", "港北村", region("450802100000", "港城镇", county))
    household = HouseholdFactory(village=village, head_name="覃志刚")
    return {
        "city": UserFactory(username="city", role=(Role.CITY, tree.city)),
        "province": UserFactory(username="province", role=(Role.PROVINCE, tree.province)),
        "county2": county,
        "household2": household,
        "toilet2": ToiletFactory(household=household),
    }


def test_a_city_sees_its_counties_only(as_user, upper, tree, register):
    city = upper["city"]
    counties = set(
        Region.objects.visible_to(city).filter(level="county").values_list("name", flat=True)
    )
    assert counties == {"钦南区", "钦北区"}
    assert set(Household.objects.visible_to(city)) == {register.h1, register.h3, register.h4}
    client = as_user(city)
    assert client.get(reverse("regions:detail", args=[upper["county2"].code])).status_code == 404
    other = reverse("toilets:household-detail", args=[upper["household2"].pk])
    assert client.get(other).status_code == 404
    listing = client.get(reverse("toilets:household-list")).content.decode()
    assert "覃志刚" not in listing and "港北" not in listing
    assert client.get(reverse("regions:detail", args=[tree.county.code])).status_code == 200


def test_a_province_sees_its_cities(as_user, upper, tree):
    province = upper["province"]
    cities = set(
        Region.objects.visible_to(province).filter(level="city").values_list("name", flat=True)
    )
    assert cities == {"钦州市", "贵港市"}
    assert upper["toilet2"] in Toilet.objects.visible_to(province)
    client = as_user(province)
    other = reverse("toilets:household-detail", args=[upper["household2"].pk])
    assert client.get(other).status_code == 200


@pytest.mark.parametrize("who", ["city", "province"])
def test_the_levels_above_the_county_enter_no_field_data(upper, who):
    user = upper[who]
    for capability in ("edit_register", "inspect", "verify", "rectify", "plan_accept"):
        assert not has_capability(user, capability)
    assert has_capability(user, "review_lower_tables")
