//! The expansion shared by `#[gpm::main]` and `#[gpm::test]`.
//!
//! ```text
//! #[gpm::main(procs = 4)]          #[attrs]
//! #[attrs]                         vis fn main() -> Ret {
//! vis async fn main() -> Ret {  =>     use ::gpm::__private::{LocalMain as _, SendMain as _};
//!     body                             (&::gpm::__private::Main::new(Some(4), None, {
//! }                                        async fn __gpm_body() -> Ret { body }
//!                                          __gpm_body()
//!                                      })).run_main()
//!                                  }
//! ```
//!
//! `#[gpm::test]` is the same with `run_test` and a `#[test]` attribute added;
//! `#[gpm::test(synctest)]` calls `run_synctest` (the body in a
//! `gpm::synctest` bubble) instead.
//! The body stays an `async fn`, so `return` and `?` work as they did. Its
//! own function makes its future's type opaque to `main`, which is what lets
//! method lookup pick the runner: `SendMain::run_main` (main as an ordinary
//! goroutine) when the future is `Send + 'static`, else
//! `LocalMain::run_main` on the calling thread (see `gpm::__private`).
//!
//! The body is kept as unparsed tokens: a syntax error inside it is reported
//! by rustc where it is, not by us, and the expansion stays cheap for IDEs
//! that rerun it on every keystroke. When the attribute or the signature is
//! wrong, the function is still expanded (with the options that were valid)
//! and the errors are emitted beside it, so completion and type checking
//! inside the body keep working while the user fixes the attribute.

use std::fmt;

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::{braced, AttrStyle, Attribute, Block, Error, Signature, Visibility};

use crate::args::Args;
use crate::errors::Errors;

/// Which attribute is being expanded.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `#[gpm::main]`: the program's entry point.
    Main,
    /// `#[gpm::test]`: a test run by the standard test harness.
    Test,
}

impl Kind {
    /// The function in `gpm::__private` that runs the body.
    fn runner(self) -> &'static str {
        match self {
            Kind::Main => "run_main",
            Kind::Test => "run_test",
        }
    }
}

impl fmt::Display for Kind {
    /// The attribute as users write it, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Main => "gpm::main",
            Kind::Test => "gpm::test",
        })
    }
}

/// Expands `#[kind(args)] item`.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let parser = |input: ParseStream<'_>| AsyncFn::parse(kind, input);
    let mut function = match parser.parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            // Not a function: give it back untouched, with the error.
            let mut tokens = item;
            tokens.extend(error.into_compile_error());
            return tokens;
        }
    };
    let mut errors = Errors::default();
    let (args, args_errors) = Args::parse(kind, args);
    errors.extend(args_errors);
    function.check(kind, &mut errors);
    let mut tokens = function.expand(kind, &args);
    if let Some(error) = errors.into_error() {
        tokens.extend(error.into_compile_error());
    }
    tokens
}

/// The annotated function, with its body left as tokens.
struct AsyncFn {
    /// The outer attributes, then the body's inner attributes made outer.
    attrs: Vec<Attribute>,
    /// `pub`, `pub(crate)`, or nothing.
    vis: Visibility,
    /// Everything from `async` to the return type.
    sig: Signature,
    /// The span of the body's braces.
    brace_span: Span,
    /// The body's statements, unparsed.
    body: TokenStream,
}

impl AsyncFn {
    /// Parses the item under `#[kind]`.
    fn parse(kind: Kind, input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        if !input.fork().call(has_fn_token)? {
            let message = format!("`#[{kind}]` goes on an `async fn`");
            return Err(input.error(message));
        }
        let sig = input.parse()?;
        let content;
        let brace = braced!(content in input);
        // `#![inner]` attributes cannot stay in the `async` block; they mean
        // the same on the function.
        for mut attr in content.call(Attribute::parse_inner)? {
            attr.style = AttrStyle::Outer;
            attrs.push(attr);
        }
        Ok(AsyncFn {
            attrs,
            vis,
            sig,
            brace_span: brace.span.join(),
            body: content.parse()?,
        })
    }

    /// Reports what the attribute cannot expand correctly. Each error is
    /// spanned at the offending tokens.
    fn check(&mut self, kind: Kind, errors: &mut Errors) {
        let sig = &self.sig;
        if sig.asyncness.is_none() {
            errors.push(Error::new_spanned(
                sig.fn_token,
                "the `async` keyword is missing from the function declaration",
            ));
        }
        if !sig.generics.params.is_empty() {
            errors.push(Error::new_spanned(
                &sig.generics,
                format!("`#[{kind}]` functions cannot be generic"),
            ));
        }
        if !sig.inputs.is_empty() {
            let reason = match kind {
                Kind::Main => "the program's arguments are in `std::env::args()`",
                Kind::Test => "the test harness calls them with none",
            };
            errors.push(Error::new_spanned(
                &sig.inputs,
                format!("`#[{kind}]` functions cannot take parameters: {reason}"),
            ));
        }
        if let Kind::Test = kind {
            // A second `#[test]` would register the function twice; report it
            // and drop it so that the expansion has one.
            self.attrs.retain(|attr| {
                let is_test = attr.path().is_ident("test");
                if is_test {
                    errors.push(Error::new_spanned(
                        attr,
                        "`#[gpm::test]` already marks the function as a test; remove this `#[test]`",
                    ));
                }
                !is_test
            });
        }
    }

    /// The synchronous function that runs the body on a gpm runtime.
    fn expand(self, kind: Kind, args: &Args) -> TokenStream {
        let AsyncFn {
            attrs,
            vis,
            mut sig,
            brace_span,
            body,
        } = self;
        sig.asyncness = None;

        // A return-type mismatch is reported at the call below; spanning the
        // call from the start of the body's last statement to its end makes
        // rustc point at that statement (the tail expression the user wrote)
        // instead of at the attribute.
        let (tail_start, tail_end) = tail_spans(&body);
        let gpm = match &args.crate_path {
            Some(path) => path.to_token_stream(),
            None => quote!(::gpm),
        };
        let gpm = respan_start(gpm, tail_start);
        let runner = if args.synctest { "run_synctest" } else { kind.runner() };
        let runner = syn::Ident::new(runner, Span::call_site());
        let procs = match args.procs {
            Some(procs) => quote!(::core::option::Option::Some(#procs)),
            None => quote!(::core::option::Option::None),
        };
        let unhandled_panic = match args.unhandled_panic {
            Some(variant) => {
                let variant = syn::Ident::new(variant, Span::call_site());
                quote!(::core::option::Option::Some(#gpm::__private::UnhandledPanic::#variant))
            }
            None => quote!(::core::option::Option::None),
        };
        let mut block = Group::new(Delimiter::Brace, body);
        block.set_span(brace_span);
        // The body as an `async fn` of its own: its future's type (and so
        // whether it is `Send`) is known where the runner is chosen.
        // (With parameters, already reported as an error, the body stays
        // an `async move` block, which sees them: no second error.)
        let output = &sig.output;
        let body_fn = if sig.inputs.is_empty() {
            quote!({
                async fn __gpm_body() #output #block
                __gpm_body()
            })
        } else {
            quote!(async move #block)
        };
        let mut call_args = Group::new(Delimiter::Parenthesis, quote!(#procs, #unhandled_panic, #body_fn));
        call_args.set_span(tail_end);
        let mut fn_body = Group::new(
            Delimiter::Brace,
            quote! {
                #[allow(unused_imports)]
                use #gpm::__private::{LocalMain as _, SendMain as _};
                (&#gpm::__private::Main::new #call_args).#runner()
            },
        );
        fn_body.set_span(brace_span);

        let header = match kind {
            Kind::Main => quote!(),
            Kind::Test => quote!(#[::core::prelude::v1::test]),
        };
        quote! {
            #header
            #(#attrs)*
            #vis #sig #fn_body
        }
    }
}

/// Whether `fn` comes before the body's braces, that is whether the item is
/// a function at all.
fn has_fn_token(input: ParseStream<'_>) -> syn::Result<bool> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            match &tree {
                TokenTree::Ident(ident) if ident == "fn" => return Ok((true, next)),
                TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => break,
                _ => rest = next,
            }
        }
        Ok((false, rest))
    })
}

/// The spans of the first and last tokens of the body's last statement, or
/// the call site's if the body is empty or does not parse.
fn tail_spans(body: &TokenStream) -> (Span, Span) {
    let last = Block::parse_within
        .parse2(body.clone())
        .ok()
        .and_then(|mut stmts| stmts.pop());
    let Some(last) = last else {
        return (Span::call_site(), Span::call_site());
    };
    let mut tokens = last.into_token_stream().into_iter();
    let start = tokens.next().map_or_else(Span::call_site, |token| token.span());
    let end = tokens.last().map_or(start, |token| token.span());
    (start, end)
}

/// `tokens` with its first token, or first `::`, moved to `span`.
fn respan_start(tokens: TokenStream, span: Span) -> TokenStream {
    let mut joint = true;
    tokens
        .into_iter()
        .map(|mut token| {
            if joint {
                joint = matches!(&token, TokenTree::Punct(punct)
                    if punct.spacing() == proc_macro2::Spacing::Joint);
                token.set_span(span);
            }
            token
        })
        .collect()
}
