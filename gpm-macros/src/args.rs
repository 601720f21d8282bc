//! The options inside the attribute's parentheses: `procs = N` and
//! `crate = "path"`.
//!
//! Every option is checked even after one is found bad, so a single build
//! reports all of them; a bad option is left at its default so the function
//! still expands (see `entry.rs`).

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Error, Expr, ExprLit, Lit, Meta, Path, Token};

use crate::entry::Kind;
use crate::errors::Errors;

/// The valid options, as error messages list them.
const VALID_OPTIONS: &str = "the options are `procs = <integer>` and `crate = \"<path>\"`";

/// The parsed options of one `#[gpm::main(...)]` or `#[gpm::test(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `procs = N`: how many Ps (GOMAXPROCS) the runtime gets; `None` leaves
    /// the runtime's default.
    pub(crate) procs: Option<usize>,
    /// `crate = "path"`: where the gpm crate is; `None` means `::gpm`.
    pub(crate) crate_path: Option<Path>,
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
                let message = format!("{error}; {VALID_OPTIONS}, e.g. `#[{kind}(procs = 4)]`");
                return (args, Some(Error::new(error.span(), message)));
            }
        };
        let mut errors = Errors::default();
        let mut seen = Vec::new();
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
            if let Err(error) = args.set(kind, &name, meta) {
                errors.push(error);
            }
            seen.push(name);
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
                format!("unknown option `{name}`; {VALID_OPTIONS}"),
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
