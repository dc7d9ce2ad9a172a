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
    CITY = "city", "市级管理员"
    PROVINCE = "province", "省级管理员"
    INSPECTOR = "inspector", "督导"


# The region level each role is assigned at; an inspector may sit at any node.
ROLE_LEVEL = {
    Role.SURVEYOR: Level.VILLAGE,
    Role.TOWNSHIP: Level.TOWNSHIP,
    Role.COUNTY: Level.COUNTY,
    Role.CITY: Level.CITY,
    Role.PROVINCE: Level.PROVINCE,
}

# What each role may do beyond reading its own subtree. Kept as data so that views,
# the API and the service layer ask the same question.
EDIT_REGISTER = "edit_register"  # register/edit households and toilets
SEE_IDENTITY = "see_identity"  # see full ID and phone numbers
INSPECT = "inspect"  # enter on-site inspections for the own village
VERIFY = "verify"  # verify or return the villages' inspections (镇级核查)
MANAGE_ROUNDS = "manage_rounds"  # create/open/close rounds, draw and publish spot-checks
RECTIFY = "rectify"  # record on site that a problem toilet was rectified (村级)
PLAN_ACCEPT = "plan_accept"  # plan rectifications, accept (验收) and close out (销号) (乡镇)
REVIEW_CLOSEOUTS = "review_closeouts"  # review (复核) closed entries and reopen them (县级)
SUBMIT_TOWNSHIP = "submit_township"  # submit the township's rows of the summary table (乡镇)
REVIEW_SUBMISSIONS = "review_submissions"  # accept or return the townships' rows (县级)
SUBMIT_COUNTY = "submit_county"  # submit the county's stamped summary table (县级)
MANAGE_SEAL = "manage_seal"  # upload or replace the own unit's seal image (乡镇、县级)
IMPORT_LEDGER = "import_ledger"  # load an Excel survey ledger into the own region (乡镇、县级)
REVIEW_LOWER_TABLES = "review_lower_tables"  # accept or return the tables one level down (市、省)
SUBMIT_UPWARD = "submit_upward"  # build, stamp and submit the city's table to the province (市级)
MANAGE_COLLECTIONS = "manage_collections"  # set the collections and deadlines below (市、省)
MANAGE_TRAINING = "manage_training"  # record who was trained (先培训后上岗) (乡镇、县级)
MANAGE_WORK_PROBLEMS = "manage_work_problems"  # 工作推进中存在的问题 register (乡镇、县级)
MANAGE_SPOTCHECKS = "manage_spotchecks"  # spot-checks across the counties below (市、省)
MANAGE_BRIEFINGS = "manage_briefings"  # 调度通报 of the units below, their ranking (市、省)

# Capabilities that need a training record on file (先培训后上岗): a surveyor enters nothing and
# a township verifies nothing before the course.
NEEDS_TRAINING = frozenset({INSPECT, VERIFY})

ROLE_CAPABILITIES = {
    Role.SURVEYOR: {EDIT_REGISTER, SEE_IDENTITY, INSPECT, RECTIFY},
    Role.TOWNSHIP: {
        EDIT_REGISTER,
        SEE_IDENTITY,
        VERIFY,
        PLAN_ACCEPT,
        SUBMIT_TOWNSHIP,
        MANAGE_SEAL,
        IMPORT_LEDGER,
        MANAGE_TRAINING,
        MANAGE_WORK_PROBLEMS,
    },
    Role.COUNTY: {
        MANAGE_ROUNDS,
        REVIEW_CLOSEOUTS,
        REVIEW_SUBMISSIONS,
        SUBMIT_COUNTY,
        MANAGE_SEAL,
        IMPORT_LEDGER,
        MANAGE_TRAINING,
        MANAGE_WORK_PROBLEMS,
    },
    # Read-mostly above the county: they receive the tables from below and send their own up.
    Role.CITY: {
        REVIEW_LOWER_TABLES,
        SUBMIT_UPWARD,
        MANAGE_COLLECTIONS,
        MANAGE_SEAL,
        MANAGE_SPOTCHECKS,
        MANAGE_BRIEFINGS,
    },
    Role.PROVINCE: {REVIEW_LOWER_TABLES, MANAGE_COLLECTIONS, MANAGE_SPOTCHECKS, MANAGE_BRIEFINGS},
    Role.INSPECTOR: set(),
}
