from django.db import models


class Level(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县（区）"
    TOWNSHIP = "township", "乡镇（街道）"
    VILLAGE = "village", "行政村（社区）"


class Role(models.TextChoices):
    SURVEYOR = "surveyor", "村级摸排员"
    TOWNSHIP = "township", "乡镇审核员"
    COUNTY = "county", "县级管理员"
    INSPECTOR = "inspector", "督导"


# The region level each role is assigned at; an inspector may sit at any node.
ROLE_LEVEL = {
    Role.SURVEYOR: Level.VILLAGE,
    Role.TOWNSHIP: Level.TOWNSHIP,
    Role.COUNTY: Level.COUNTY,
}

# What each role may do beyond reading its own subtree. Kept as data so that views,
# the API and the service layer ask the same question.
EDIT_REGISTER = "edit_register"  # register/edit households and toilets
SEE_IDENTITY = "see_identity"  # see full ID and phone numbers
INSPECT = "inspect"  # enter on-site inspections for the own village
VERIFY = "verify"  # verify or return the villages' inspections (镇级核查)
MANAGE_ROUNDS = "manage_rounds"  # create/open/close rounds, draw and publish spot-checks

ROLE_CAPABILITIES = {
    Role.SURVEYOR: {EDIT_REGISTER, SEE_IDENTITY, INSPECT},
    Role.TOWNSHIP: {EDIT_REGISTER, SEE_IDENTITY, VERIFY},
    Role.COUNTY: {MANAGE_ROUNDS},
    Role.INSPECTOR: set(),
}
