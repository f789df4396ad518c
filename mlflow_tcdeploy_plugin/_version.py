"""The package version, apart so that modules can name it without importing the plugin entry module."""

__version__ = "2.0.0.dev0"
