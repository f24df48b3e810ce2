"""What an operator looks at: problems that need a person, expected files, trace, the page."""
