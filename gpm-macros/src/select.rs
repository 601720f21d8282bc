//! `gpm::select!`: Go's `select`, in crossbeam-channel's syntax.
//!
//! ```text
//! select! {                              {
//!     recv(a) -> v => body_a,                enum Output<T0, T1> { Case0(T0), Case1(T1), Default }
//!     send(b, x) -> res => body_b,           let out = match a { ref c0 => match b { ref c1 => match x { v1 => {
//!     default => body_d,                         let arm0 = RecvArm::new(RecvCase::recv_chan(c0));
//! }                                              let arm1 = SendArm::new(SendCase::send_chan(c1), v1);
//!                                                match Select::new([&arm0, &arm1], .., true).await {
//!                                                    0 => Output::Case0(arm0.into_output()),
//!                                                    1 => Output::Case1(arm1.into_output()),
//!                                                    _ => Output::Default,
//!                                                }
//!                                            }}}}};
//!                                            match out {
//!                                                Output::Case0(v) => { let v = v; body_a }
//!                                                Output::Case1(res) => { let res = res; body_b }
//!                                                Output::Default => { body_d }
//!                                            }
//!                                        }
//! ```
//!
//! The channels and send values are evaluated once, in the order written,
//! before anything else; `match .. { ref c => .. }` borrows a channel that
//! is a place (a variable, a field) instead of moving it. The bodies run in
//! the last `match`, outside any closure or async block, after the arms and
//! the borrows are gone, so `break`, `continue`, `return` and `?` in them
//! act as in any `match`, and a body may use (or drop) the channels.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{parenthesized, Error, Expr, Ident, Pat, Token};

/// What `select!` accepts, as error messages list it.
const CASES: &str = "expected `recv(channel) -> pattern => body`, `send(channel, value) -> pattern => body` \
                     or `default => body`";

/// The parsed macro input.
struct Input {
    cases: Vec<Case>,
    default: Option<Expr>,
}

/// One `recv` or `send` case.
struct Case {
    /// The channel expression.
    chan: Expr,
    /// The value, for a `send`.
    value: Option<Expr>,
    /// The pattern after `->`.
    pat: Pat,
    /// The body after `=>`.
    body: Expr,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Input> {
        let mut cases = Vec::new();
        let mut default = None;
        while !input.is_empty() {
            if !input.peek(Ident) && !input.peek(Token![default]) {
                return Err(input.error(format!("unexpected token in `select!`: {CASES}")));
            }
            let kind: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            match kind.to_string().as_str() {
                "recv" => {
                    let args;
                    parenthesized!(args in input);
                    let chan: Expr = args.parse()?;
                    if !args.is_empty() {
                        return Err(args.error("`recv` takes one argument, the channel: `recv(channel) -> v => ..`"));
                    }
                    let (pat, body) = parse_rest(input, &kind)?;
                    cases.push(Case {
                        chan,
                        value: None,
                        pat,
                        body,
                    });
                }
                "send" => {
                    let args;
                    parenthesized!(args in input);
                    let chan: Expr = args.parse()?;
                    if args.is_empty() {
                        return Err(Error::new(
                            kind.span(),
                            "`send` takes the channel and the value: `send(channel, value) -> res => ..`",
                        ));
                    }
                    args.parse::<Token![,]>()?;
                    let value: Expr = args.parse()?;
                    if args.peek(Token![,]) {
                        args.parse::<Token![,]>()?;
                    }
                    if !args.is_empty() {
                        return Err(args.error("`send` takes two arguments: `send(channel, value) -> res => ..`"));
                    }
                    let (pat, body) = parse_rest(input, &kind)?;
                    cases.push(Case {
                        chan,
                        value: Some(value),
                        pat,
                        body,
                    });
                }
                "default" => {
                    if default.is_some() {
                        return Err(Error::new(kind.span(), "a `select!` has at most one `default` case"));
                    }
                    if input.peek(syn::token::Paren) {
                        return Err(Error::new(
                            kind.span(),
                            "`default` takes no arguments; for a timeout, add a case \
                             `recv(gpm::time::after(duration)) -> _ => ..`",
                        ));
                    }
                    input.parse::<Token![=>]>()?;
                    default = Some(parse_body(input)?);
                }
                other => {
                    return Err(Error::new(
                        kind.span(),
                        format!("unknown `select!` case `{other}`: {CASES}"),
                    ));
                }
            }
        }
        Ok(Input { cases, default })
    }
}

/// `-> pattern => body` after a case's arguments.
fn parse_rest(input: ParseStream, kind: &Ident) -> syn::Result<(Pat, Expr)> {
    if !input.peek(Token![->]) {
        return Err(input.error(format!(
            "expected `->` and a pattern after `{kind}(..)`, e.g. `{kind}(..) -> v => ..` (or `-> _`)"
        )));
    }
    input.parse::<Token![->]>()?;
    let pat = Pat::parse_single(input)?;
    if !input.peek(Token![=>]) {
        return Err(input.error(format!("expected `=>` after the pattern of this `{kind}` case")));
    }
    input.parse::<Token![=>]>()?;
    let body = parse_body(input)?;
    Ok((pat, body))
}

/// A body as in a `match` arm: a block, optionally followed by a comma, or
/// an expression followed by a comma unless it is the last.
fn parse_body(input: ParseStream) -> syn::Result<Expr> {
    let body = Expr::parse_with_earlier_boundary_rule(input)?;
    let block_like = matches!(
        body,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Unsafe(_)
            | Expr::While(_)
            | Expr::Loop(_)
            | Expr::ForLoop(_)
            | Expr::TryBlock(_)
            | Expr::Const(_)
    );
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !block_like && !input.is_empty() {
        return Err(input.error("expected `,` after this case's body"));
    }
    Ok(body)
}

/// Expands `select! { .. }`.
pub(crate) fn expand(tokens: TokenStream) -> TokenStream {
    match syn::parse2::<Input>(tokens) {
        Ok(input) => expand_input(input),
        Err(error) => error.to_compile_error(),
    }
}

fn expand_input(input: Input) -> TokenStream {
    let gpm = quote!(::gpm::__private::select);
    if input.cases.is_empty() && input.default.is_none() {
        // Go's `select {}`: wait forever.
        return quote! {
            match #gpm::forever().await {}
        };
    }
    let site = Span::mixed_site();
    let n = input.cases.len();
    let has_default = input.default.is_some();
    let output = Ident::new("__SelectOutput", site);
    let out = Ident::new("__select_output", site);
    let fired = Ident::new("__fired", site);
    let params: Vec<Ident> = (0..n).map(|i| format_ident!("T{}", i, span = site)).collect();
    let variants: Vec<Ident> = (0..n).map(|i| format_ident!("Case{}", i, span = site)).collect();
    let chans: Vec<Ident> = (0..n).map(|i| format_ident!("__chan{}", i, span = site)).collect();
    let values: Vec<Ident> = (0..n).map(|i| format_ident!("__value{}", i, span = site)).collect();
    let arms: Vec<Ident> = (0..n).map(|i| format_ident!("__arm{}", i, span = site)).collect();

    // The arms, built from the evaluated channels and values.
    let make_arms = input.cases.iter().enumerate().map(|(i, case)| {
        let (arm, chan) = (&arms[i], &chans[i]);
        let span = case.chan.span();
        // Spanned at the user's expressions, so that a type error (not a
        // channel, a value of the wrong type) points at them.
        match &case.value {
            None => {
                let chan = quote_spanned!(span=> ::gpm::__private::select::RecvCase::recv_chan(#chan));
                quote! { let #arm = #gpm::RecvArm::new(#chan); }
            }
            Some(value_expr) => {
                let chan = quote_spanned!(span=> ::gpm::__private::select::SendCase::send_chan(#chan));
                let value = &values[i];
                let arm_new = quote_spanned!(value_expr.span()=> ::gpm::__private::select::SendArm::new);
                quote! { let #arm = #arm_new(#chan, #value); }
            }
        }
    });
    let select = quote! {
        #(#make_arms)*
        let #fired = #gpm::Select::new(
            [#(&#arms as &dyn #gpm::Arm),*],
            (#(#gpm::marker(&#arms),)*),
            #has_default,
        )
        .await;
    };
    let take = arms.iter().zip(&variants).enumerate().map(|(i, (arm, variant))| {
        quote! { #i => #output::#variant(#arm.into_output()), }
    });
    let rest = if has_default {
        quote! { _ => #output::Default, }
    } else {
        quote! { _ => ::core::unreachable!("a select without default returned default"), }
    };
    let mut inner = quote! {{
        #select
        match #fired {
            #(#take)*
            #rest
        }
    }};
    // Wrap in the evaluations, innermost last: channel, then value, per case.
    for (i, case) in input.cases.iter().enumerate().rev() {
        if let Some(value) = &case.value {
            let v = &values[i];
            inner = quote! { match #value { #v => #inner } };
        }
        let (chan, expr) = (&chans[i], &case.chan);
        inner = quote! { match #expr { ref #chan => #inner } };
    }
    let bodies = input.cases.iter().zip(&variants).map(|(case, variant)| {
        let (pat, body) = (&case.pat, &case.body);
        let v = Ident::new("__case_output", site);
        quote! {
            #output::#variant(#v) => {
                let #pat = #v;
                #body
            }
        }
    });
    let (default_variant, default_body) = match &input.default {
        Some(body) => (quote!(Default,), quote!(#output::Default => { #body })),
        None => (quote!(), quote!()),
    };
    quote! {{
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        enum #output<#(#params),*> {
            #(#variants(#params),)*
            #default_variant
        }
        let #out = #inner;
        match #out {
            #(#bodies)*
            #default_body
        }
    }}
}
