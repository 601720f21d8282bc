//! Collecting errors so that one build reports every mistake at once.

use syn::Error;

/// Errors found so far, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    /// Adds an error to the report.
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Adds every error in `errors`, if there are any.
    pub(crate) fn extend(&mut self, errors: Option<Error>) {
        if let Some(error) = errors {
            self.push(error);
        }
    }

    /// The combined error, or `None` if nothing was wrong.
    pub(crate) fn into_error(self) -> Option<Error> {
        self.0
    }
}
