"""factory_boy factories for the register; IDs are valid GB 11643 numbers."""

import itertools

import factory
from django.contrib.auth import get_user_model

from regions.choices import NEEDS_TRAINING, ROLE_CAPABILITIES, Level
from regions.models import Region, RoleAssignment, TrainingRecord
from toilets.choices import Funding, TechType, ToiletKind
from toilets.identity import check_character
from toilets.models import Household, Toilet

PASSWORD = "pass-for-tests-1"
_id_seq = itertools.count(1)


def valid_id_number(seq: int | None = None, birth: str = "19800101", area: str = "450702") -> str:
    seq = next(_id_seq) if seq is None else seq
    first17 = f"{area}{birth}{seq % 1000:03d}"
    return first17 + check_character(first17)


def region(code: str, name: str, parent: Region | None = None) -> Region:
    from regions.codes import level_of

    return Region.objects.create(code=code, name=name, level=level_of(code), parent=parent)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        self.save()
        if extracted:
            role, where = extracted
            RoleAssignment.objects.create(user=self, role=role, region=where)

    # A surveyor or township reviewer comes trained (先培训后上岗) unless ``trained=False``.
    @factory.post_generation
    def trained(self, create, extracted, **kwargs):
        assignment = RoleAssignment.objects.filter(user=self).first()
        if extracted is False or assignment is None:
            return
        if ROLE_CAPABILITIES[assignment.role] & NEEDS_TRAINING:
            TrainingRecord.objects.create(
                user=self,
                trained_on="2026-01-05",
                course="农村户厕问题摸排业务培训",
                trainer="县农业农村局",
            )


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    village = factory.LazyFunction(lambda: Region.objects.filter(level=Level.VILLAGE).first())
    head_name = factory.Sequence(lambda n: f"户主{n}")
    id_number = factory.LazyFunction(valid_id_number)
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    group_name = "第一村民小组"
    county_code = factory.LazyAttribute(lambda o: o.village.code[:6])


class ToiletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Toilet

    household = factory.SubFactory(HouseholdFactory)
    village = factory.LazyAttribute(lambda o: o.household.village)
    kind = ToiletKind.HOUSEHOLD
    tech_type = TechType.THREE_COMPARTMENT
    flush_kind = "flush"
    build_year = 2018
    funding = Funding.GOVERNMENT
    lead_department = "housing"


class PublicToiletFactory(ToiletFactory):
    household = None
    village = factory.LazyFunction(lambda: Region.objects.filter(level=Level.VILLAGE).first())
    kind = ToiletKind.PUBLIC
    name = factory.Sequence(lambda n: f"公厕{n}")


def default_template():
    from surveys.models import ReportTemplate

    return ReportTemplate.objects.get(is_default=True)


class SurveyRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveys.SurveyRound"

    name = factory.Sequence(lambda n: f"2022年摸排{n}")
    kind = "survey"
    county = factory.LazyFunction(lambda: Region.objects.filter(level=Level.COUNTY).first())
    start_date = factory.LazyFunction(lambda: __import__("datetime").date(2022, 4, 1))
    end_date = factory.LazyFunction(lambda: __import__("datetime").date(2022, 12, 31))
    template = factory.LazyFunction(default_template)
    status = "open"


class InspectionFactory(factory.django.DjangoModelFactory):
    """An inspection row made directly (no ledger sync, no flags): for tests of what reads
    inspections. Use surveys.services.save_inspection to test the write path."""

    class Meta:
        model = "surveys.Inspection"
        skip_postgeneration_save = True

    round = factory.SubFactory(SurveyRoundFactory)
    toilet = factory.SubFactory(ToiletFactory)
    surveyor = factory.SubFactory(UserFactory)
    partner_name = "李四"
    inspected_at = factory.LazyFunction(
        lambda: __import__("django.utils.timezone").utils.timezone.now()
    )
    household_present = True
    check_method = "on_site"
    usability = "normal"
    signed = True

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if extracted:
            self.categories.set(extracted)
