from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes
from .choices import ROLE_LEVEL, Level, Role
from .scoping import ScopedQuerySet


class RegionQuerySet(ScopedQuerySet):
    scope_lookup = "code"

    def villages(self):
        return self.filter(level=Level.VILLAGE)

    def current(self):
        """Regions still in force (not abolished): what new records may be attached to."""
        return self.filter(abolished=False)


class Region(models.Model):
    """A node of the administrative tree, keyed by its official 12-digit 统计用区划代码.

    Regions are never deleted while records point at them (PROTECT); a unit abolished in a
    later code table is marked ``abolished`` instead.
    """

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    abolished = models.BooleanField(_("已撤销"), default=False)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{12}$"),
                name="regions_region_code_12_digits",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def prefix(self) -> str:
        return self.code[: codes.LEVEL_DIGITS[Level(self.level)]]

    @property
    def is_village(self) -> bool:
        return self.level == Level.VILLAGE

    def ancestors(self) -> list["Region"]:
        """Ancestors from the top down, in one query."""
        found = {r.code: r for r in Region.objects.filter(code__in=codes.ancestor_codes(self.code))}
        return [found[c] for c in reversed(codes.ancestor_codes(self.code)) if c in found]

    def full_name(self) -> str:
        return "".join(r.name for r in self.ancestors() if r.level != Level.PROVINCE) + self.name


def display_name(user) -> str:
    """How a person is named on screen and in logs: full name, else the login name."""
    return user.get_full_name() or user.username


class RoleAssignmentQuerySet(ScopedQuerySet):
    scope_lookup = "region__code"


class RoleAssignment(models.Model):
    """Gives a user one role at one region; the user then sees exactly that region's subtree."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="role_assignment",
    )
    region = models.ForeignKey(
        Region, verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.region}"

    def clean(self):
        expected = ROLE_LEVEL.get(Role(self.role)) if self.role else None
        if expected and self.region_id and self.region.level != expected:
            raise ValidationError(
                {"region": f"{Role(self.role).label}只能分配到{Level(expected).label}一级。"}
            )


class TrainingRecordQuerySet(ScopedQuerySet):
    scope_lookup = "user__role_assignment__region__code"


class TrainingRecord(models.Model):
    """A person's pre-work training (先培训后上岗): surveyors enter and townships verify
    inspections only with one on file (``choices.NEEDS_TRAINING``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("参训人员"),
        on_delete=models.CASCADE,
        related_name="training_records",
    )
    trained_on = models.DateField(_("培训日期"))
    course = models.CharField(_("培训内容"), max_length=100)
    trainer = models.CharField(_("培训单位/授课人"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = TrainingRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("岗前培训记录")
        verbose_name_plural = _("岗前培训记录")
        ordering = ["-trained_on", "-id"]
        constraints = [
            # Two clerks recording the same course at once: one record (it also serves as the
            # index by user and day).
            models.UniqueConstraint(
                fields=["user", "trained_on", "course"], name="regions_training_once"
            )
        ]

    def __str__(self):
        return f"{display_name(self.user)} · {self.course} · {self.trained_on}"
