"""Models for the serializer and model-result tests (tables created per test by conftest.py)."""

from __future__ import annotations

from django.db import models

APP_LABEL = "bolt_serializer_tests"  # the label of apps.py


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200, default="")
    # Read by nobody but the tests that check deferred fields are left out.
    bio = models.TextField(default="")

    class Meta:
        app_label = APP_LABEL


class Tag(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        app_label = APP_LABEL


class Book(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    tags = models.ManyToManyField(Tag, related_name="books", blank=True)

    class Meta:
        app_label = APP_LABEL
        ordering = ("id",)


class Profile(models.Model):
    author = models.OneToOneField(Author, on_delete=models.CASCADE, related_name="profile")
    website = models.CharField(max_length=200, default="")

    class Meta:
        app_label = APP_LABEL


class Reading(models.Model):
    """A column of each kind whose database value Django converts (tests/serializers/
    test_row_reader.py reads them as Structs)."""

    taken = models.DateTimeField()
    day = models.DateField(null=True)
    at = models.TimeField(null=True)
    amount = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    data = models.JSONField(null=True)
    uid = models.UUIDField(null=True)
    ratio = models.FloatField(null=True)
    ok = models.BooleanField(default=False)
    maybe = models.BooleanField(null=True)
    label = models.CharField(max_length=50, null=True)
    count = models.BigIntegerField(default=0)
    elapsed = models.DurationField(null=True)
    author = models.ForeignKey(Author, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        app_label = APP_LABEL
        ordering = ("id",)


class LegacyReading(models.Model):
    """A table made by hand with loose SQLite column types (``integer`` for a boolean, ``text``
    for a datetime): sqlite3 does not parse them, Django's converters do."""

    flag = models.BooleanField()
    stamp = models.DateTimeField()

    class Meta:
        app_label = APP_LABEL
        managed = False
        db_table = "bolt_legacy_reading"


class Attachment(models.Model):
    """A column whose attribute is not its value (a FieldFile, not the stored name)."""

    upload = models.FileField()

    class Meta:
        app_label = APP_LABEL
        managed = False


MODELS = (Author, Tag, Book, Profile, Reading)
