//! The options inside the attribute's parentheses: `procs = N`,
//! `unhandled_panic = "..."`, `crate = "path"`, and (tests only)
//! `synctest`.
//!
//! Every option is checked even after one is found bad, so a single build
//! reports all of them; a bad option is left at its default so the function
//! still expands (see `entry.rs`).

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Error, Expr, ExprLit, Lit, Meta, Path, Token};

use crate::entry::Kind;
use crate::errors::Errors;

/// The options both attributes take, as error messages list them.
const COMMON_OPTIONS: &str =
    "`procs = <integer>`, `unhandled_panic = \"exit_process\" | \"ignore\" | \"shutdown_runtime\"`";

/// The valid options of `kind`, as error messages list them.
fn valid_options(kind: Kind) -> String {
    match kind {
        Kind::Main => format!("the options are {COMMON_OPTIONS} and `crate = \"<path>\"`"),
        Kind::Test => format!(
            "the options are {COMMON_OPTIONS}, `crate = \"<path>\"` and `synctest` (a bubble in virtual time, \
             see `gpm::synctest`)"
        ),
    }
}

/// The values of `unhandled_panic`, as written, with the variants of
/// `gpm::runtime::UnhandledPanic` they name.
const UNHANDLED_PANIC: [(&str, &str); 3] = [
    ("exit_process", "ExitProcess"),
    ("ignore", "Ignore"),
    ("shutdown_runtime", "ShutdownRuntime"),
];

/// The values of `unhandled_panic`, as error messages list them.
const UNHANDLED_PANIC_VALUES: &str = "\"exit_process\" (Go's crash, `#[gpm::main]`'s default), \
     \"ignore\" or \"shutdown_runtime\" (`#[gpm::test]`'s default)";

/// The parsed options of one `#[gpm::main(...)]` or `#[gpm::test(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `procs = N`: how many Ps (GOMAXPROCS) the runtime gets; `None` leaves
    /// the runtime's default.
    pub(crate) procs: Option<usize>,
    /// `crate = "path"`: where the gpm crate is; `None` means `::gpm`.
    pub(crate) crate_path: Option<Path>,
    /// `unhandled_panic = "..."`: the `UnhandledPanic` variant's name;
    /// `None` leaves the macro's default (the builder's for main,
    /// `ShutdownRuntime` for a test).
    pub(crate) unhandled_panic: Option<&'static str>,
    /// `synctest` (tests only): run the body in a `gpm::synctest` bubble.
    pub(crate) synctest: bool,
}

impl Args {
    /// Parses the attribute's arguments.
    ///
    /// Returns the options that were valid and, if any were not, one error
    /// per bad option, combined.
    pub(crate) fn parse(kind: Kind, tokens: TokenStream) -> (Args, Option<Error>) {
        let mut args = Args::default();
        let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
            Ok(metas) => metas,
            Err(error) => {
                let message = format!("{error}; {}, e.g. `#[{kind}(procs = 4)]`", valid_options(kind));
                return (args, Some(Error::new(error.span(), message)));
            }
        };
        let mut errors = Errors::default();
        let mut seen = Vec::new();
        let mut unhandled_panic_at = Span::call_site();
        for meta in metas {
            // Checked by name, so that `procs = 0, procs = 4` reports both.
            let name = option_name(meta.path());
            if seen.contains(&name) {
                errors.push(Error::new_spanned(
                    meta.path(),
                    format!("`{name}` is set more than once"),
                ));
                continue;
            }
            if name == "unhandled_panic" {
                unhandled_panic_at = syn::spanned::Spanned::span(&meta);
            }
            if let Err(error) = args.set(kind, &name, meta) {
                errors.push(error);
            }
            seen.push(name);
        }
        if args.synctest && args.unhandled_panic.is_some() {
            errors.push(Error::new(
                unhandled_panic_at,
                "`synctest` and `unhandled_panic` cannot be combined: a panic in a bubble's goroutine \
                 always fails the test",
            ));
            args.unhandled_panic = None;
        }
        (args, errors.into_error())
    }

    /// Applies the option `meta`, called `name`.
    fn set(&mut self, kind: Kind, name: &str, meta: Meta) -> syn::Result<()> {
        match (name, meta) {
            ("procs", Meta::NameValue(option)) => {
                self.procs = Some(parse_procs(&option.value)?);
                Ok(())
            }
            ("crate", Meta::NameValue(option)) => {
                self.crate_path = Some(parse_crate_path(&option.value)?);
                Ok(())
            }
            ("unhandled_panic", Meta::NameValue(option)) => {
                self.unhandled_panic = Some(parse_unhandled_panic(&option.value)?);
                Ok(())
            }
            ("synctest", Meta::Path(_)) if matches!(kind, Kind::Test) => {
                self.synctest = true;
                Ok(())
            }
            ("synctest", Meta::Path(path)) => Err(Error::new_spanned(
                path,
                "`synctest` runs a test in a bubble; it is an option of `#[gpm::test]`, not of `#[gpm::main]`",
            )),
            ("synctest", meta) => Err(Error::new_spanned(
                meta,
                format!("`synctest` takes no value, e.g. `#[{kind}(synctest)]` or `#[{kind}(synctest, procs = 4)]`"),
            )),
            ("unhandled_panic", meta) => Err(Error::new_spanned(
                meta,
                format!(
                    "`unhandled_panic` needs a value, e.g. `#[{kind}(unhandled_panic = \"ignore\")]`; \
                     the values are {UNHANDLED_PANIC_VALUES}"
                ),
            )),
            ("procs", meta) => Err(Error::new_spanned(
                meta,
                format!("`procs` needs a value, e.g. `#[{kind}(procs = 4)]`"),
            )),
            ("crate", meta) => Err(Error::new_spanned(
                meta,
                format!("`crate` needs a value, e.g. `#[{kind}(crate = \"::gpm\")]`"),
            )),
            ("worker_threads", meta) => Err(Error::new_spanned(
                meta.path(),
                format!(
                    "unknown option `worker_threads`; gpm's workers are Ps: \
                     use `#[{kind}(procs = N)]`"
                ),
            )),
            ("flavor", meta) => Err(Error::new_spanned(
                meta.path(),
                format!(
                    "unknown option `flavor`; gpm has one scheduler: \
                     for a single P use `#[{kind}(procs = 1)]`"
                ),
            )),
            (name, meta) => Err(Error::new_spanned(
                meta.path(),
                format!("unknown option `{name}`; {}", valid_options(kind)),
            )),
        }
    }
}

/// Parses the value of `procs = N`: a nonzero integer literal.
fn parse_procs(value: &Expr) -> syn::Result<usize> {
    let Expr::Lit(ExprLit {
        lit: Lit::Int(literal), ..
    }) = value
    else {
        return Err(Error::new_spanned(
            value,
            "`procs` takes an integer literal, e.g. `procs = 4`",
        ));
    };
    let procs = literal
        .base10_parse::<usize>()
        .map_err(|error| Error::new(literal.span(), format!("`procs` is not a valid count: {error}")))?;
    if procs == 0 {
        return Err(Error::new(
            literal.span(),
            "`procs` must be at least 1: a runtime needs a P to run goroutines; \
             leave `procs` out to get the default (the number of CPUs)",
        ));
    }
    Ok(procs)
}

/// Parses the value of `unhandled_panic = "..."`: one of the string
/// literals in [`UNHANDLED_PANIC`]; gives the variant's name.
fn parse_unhandled_panic(value: &Expr) -> syn::Result<&'static str> {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(literal), ..
    }) = value
    else {
        return Err(Error::new_spanned(
            value,
            format!(
                "`unhandled_panic` takes a string literal, e.g. `unhandled_panic = \"ignore\"`; \
                 the values are {UNHANDLED_PANIC_VALUES}"
            ),
        ));
    };
    let written = literal.value();
    UNHANDLED_PANIC
        .iter()
        .find(|(name, _)| *name == written)
        .map(|(_, variant)| *variant)
        .ok_or_else(|| {
            // `"Ignore"`, `"ShutdownRuntime"`: the variant's name.
            let squashed = |s: &str| s.replace('_', "").to_lowercase();
            let hint = UNHANDLED_PANIC
                .iter()
                .find(|(name, _)| squashed(name) == squashed(&written))
                .map_or(String::new(), |(name, _)| format!("; did you mean \"{name}\"?"));
            Error::new(
                literal.span(),
                format!("unknown `unhandled_panic` value {written:?}; the values are {UNHANDLED_PANIC_VALUES}{hint}"),
            )
        })
}

/// Parses the value of `crate = "path"`: a string literal holding a path.
fn parse_crate_path(value: &Expr) -> syn::Result<Path> {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(literal), ..
    }) = value
    else {
        return Err(Error::new_spanned(
            value,
            "`crate` takes a path in a string literal, e.g. `crate = \"::gpm\"`",
        ));
    };
    literal.parse::<Path>().map_err(|_| {
        Error::new(
            literal.span(),
            format!(
                "`crate = {:?}` is not a path; write the path to gpm, e.g. `crate = \"::gpm\"`",
                literal.value()
            ),
        )
    })
}

/// The option's name as written, `a::b` for a path.
fn option_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|segment| segment.ident.to_string()).collect();
    segments.join("::")
}
