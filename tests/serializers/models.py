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


MODELS = (Author, Tag, Book, Profile)
