"""Tests of the data builder (medvision_tasks.builder), one module per builder module."""
