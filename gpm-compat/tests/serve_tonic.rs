//! A real tonic service (unary and server streaming) served by
//! `gpm_compat::serve` and called by a tonic client whose channel is
//! hyper-util's pooled client over `GpmConnector`: gRPC with no tokio
//! runtime anywhere.
//!
//! No `protoc`: the messages are prost structs written by hand
//! (`#[derive(prost::Message)]` is what prost-build would generate), and
//! the server and client are what tonic-build generates, written by hand
//! and cut down (tonic's `server::Grpc` / `client::Grpc` with
//! `tonic_prost::ProstCodec` do the gRPC framing). A fresh machine needs
//! only the Rust toolchain.
//!
//! tonic's own `transport::Channel` (feature `channel`) is not used: its
//! buffer and reconnect tasks are started with `tokio::spawn` and its
//! timeouts use `tokio::time`, which need a tokio runtime. tonic's client
//! is generic over any `tower::Service<http::Request<tonic::body::Body>>`,
//! so hyper-util's `Client` (HTTP/2 only, as gRPC is) takes its place.
#![cfg(all(feature = "server", feature = "client"))]

mod web_common;

use futures::channel::oneshot;
use gpm_compat::{GpmConnector, GpmExecutor, GpmTimer};
use hyper_util::client::legacy::Client;
use std::convert::Infallible;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::codegen::{http, Body, BoxFuture, StdError};
use tonic::server::{NamedService, ServerStreamingService, UnaryService};
use tonic::{Request, Response, Status};
use web_common::{assert_no_tokio_threads, on_gpm, runtime, watchdog};

// ----- messages (what prost-build would generate from the .proto) ---------

/// `message HelloRequest { string name = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

/// `message HelloReply { string message = 1; bool on_gpm = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
    #[prost(bool, tag = "2")]
    on_gpm: bool,
}

/// `message CountRequest { uint32 up_to = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
struct CountRequest {
    #[prost(uint32, tag = "1")]
    up_to: u32,
}

/// `message Number { uint32 value = 1; bool on_gpm = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
struct Number {
    #[prost(uint32, tag = "1")]
    value: u32,
    #[prost(bool, tag = "2")]
    on_gpm: bool,
}

// ----- server (what tonic-build generates, with the handlers inline) ------

/// `service Greeter { rpc SayHello(HelloRequest) returns (HelloReply);
/// rpc Count(CountRequest) returns (stream Number); }`
#[derive(Clone, Default)]
struct GreeterServer;

impl NamedService for GreeterServer {
    const NAME: &'static str = "demo.Greeter";
}

struct SayHello;

impl UnaryService<HelloRequest> for SayHello {
    type Response = HelloReply;
    type Future = BoxFuture<Response<HelloReply>, Status>;

    fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
        Box::pin(async move {
            let name = request.into_inner().name;
            if name.is_empty() {
                return Err(Status::invalid_argument("name is empty"));
            }
            // Yield once, so the reply really comes from a goroutine that
            // was parked and resumed.
            gpm::yield_now().await;
            Ok(Response::new(HelloReply {
                message: format!("Hello, {name}!"),
                on_gpm: on_gpm(),
            }))
        })
    }
}

struct Count;

impl ServerStreamingService<CountRequest> for Count {
    type Response = Number;
    type ResponseStream = Pin<Box<dyn futures::Stream<Item = Result<Number, Status>> + Send>>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<CountRequest>) -> Self::Future {
        Box::pin(async move {
            let up_to = request.into_inner().up_to;
            // Each number is produced on a goroutine of its own and sent
            // through a gpm channel: the stream is polled by hyper's HTTP/2
            // stream task, itself a goroutine.
            let numbers = gpm::chan::<Number>(0);
            let tx = numbers.clone();
            gpm::spawn(async move {
                for value in 0..up_to {
                    let on_gpm = on_gpm();
                    if tx.send(Number { value, on_gpm }).await.is_err() {
                        return;
                    }
                }
                let _ = tx.close();
            });
            let stream = futures::stream::unfold(numbers, |numbers| async move {
                let n = numbers.recv().await?;
                Some((Ok(n), numbers))
            });
            Ok(Response::new(Box::pin(stream) as Self::ResponseStream))
        })
    }
}

impl<B> tonic::codegen::Service<http::Request<B>> for GreeterServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        match req.uri().path() {
            "/demo.Greeter/SayHello" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.unary(SayHello, req).await)
            }),
            "/demo.Greeter/Count" => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.server_streaming(Count, req).await)
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

// ----- client (what tonic-build generates, cut down) ----------------------

struct GreeterClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl<T> GreeterClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    fn with_origin(inner: T, origin: http::Uri) -> Self {
        GreeterClient {
            inner: tonic::client::Grpc::with_origin(inner, origin),
        }
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.inner
            .ready()
            .await
            .map_err(|e| Status::unknown(format!("service was not ready: {}", e.into())))
    }

    async fn say_hello(&mut self, request: HelloRequest) -> Result<Response<HelloReply>, Status> {
        self.ready().await?;
        let path = http::uri::PathAndQuery::from_static("/demo.Greeter/SayHello");
        self.inner
            .unary(Request::new(request), path, tonic_prost::ProstCodec::default())
            .await
    }

    async fn count(&mut self, request: CountRequest) -> Result<Response<tonic::Streaming<Number>>, Status> {
        self.ready().await?;
        let path = http::uri::PathAndQuery::from_static("/demo.Greeter/Count");
        self.inner
            .server_streaming(Request::new(request), path, tonic_prost::ProstCodec::default())
            .await
    }
}

// ----- the tests ----------------------------------------------------------

/// A tonic client over gpm: hyper-util's pooled client, HTTP/2 only.
fn grpc_channel() -> Client<GpmConnector, tonic::body::Body> {
    Client::builder(GpmExecutor::current())
        .timer(GpmTimer::new())
        .http2_only(true)
        .build(GpmConnector::new())
}

#[test]
fn tonic_unary_and_server_streaming() {
    for procs in [1, 2] {
        watchdog(120, move || {
            runtime(procs).block_on(async {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let (stop, stopped) = oneshot::channel::<()>();
                let routes = tonic::service::Routes::new(GreeterServer);
                let server = gpm::spawn(
                    gpm_compat::serve(listener, routes)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .into_future(),
                );

                let origin: http::Uri = format!("http://{addr}").parse().unwrap();
                let mut client = GreeterClient::with_origin(grpc_channel(), origin);

                // Unary.
                for name in ["gopher", "ferris"] {
                    let reply = client.say_hello(HelloRequest { name: name.into() }).await.unwrap();
                    assert_eq!(
                        reply.into_inner(),
                        HelloReply {
                            message: format!("Hello, {name}!"),
                            on_gpm: true
                        }
                    );
                }
                // A gRPC error status comes through as such.
                let status = client
                    .say_hello(HelloRequest { name: String::new() })
                    .await
                    .unwrap_err();
                assert_eq!(status.code(), tonic::Code::InvalidArgument);
                assert_eq!(status.message(), "name is empty");

                // Server streaming.
                let mut numbers = client.count(CountRequest { up_to: 100 }).await.unwrap().into_inner();
                let mut got = Vec::new();
                while let Some(n) = numbers.message().await.unwrap() {
                    assert!(n.on_gpm);
                    got.push(n.value);
                }
                assert_eq!(got, (0..100).collect::<Vec<_>>());
                let mut empty = client.count(CountRequest { up_to: 0 }).await.unwrap().into_inner();
                assert_eq!(empty.message().await.unwrap(), None);

                // Concurrent calls share the one HTTP/2 connection.
                let calls: Vec<_> = (0..32)
                    .map(|i| {
                        let mut client =
                            GreeterClient::with_origin(grpc_channel(), format!("http://{addr}").parse().unwrap());
                        gpm::spawn(async move {
                            client
                                .say_hello(HelloRequest { name: format!("n{i}") })
                                .await
                                .unwrap()
                                .into_inner()
                        })
                    })
                    .collect();
                for (i, call) in calls.into_iter().enumerate() {
                    assert_eq!(call.await.unwrap().message, format!("Hello, n{i}!"));
                }

                assert_no_tokio_threads();
                drop(client);
                drop(numbers);
                drop(empty);
                stop.send(()).unwrap();
                server.await.unwrap().unwrap();
            });
        });
    }
}

#[test]
fn unknown_method_is_unimplemented() {
    watchdog(60, || {
        runtime(2).block_on(async {
            let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = oneshot::channel::<()>();
            let server = gpm::spawn(
                gpm_compat::serve(listener, tonic::service::Routes::new(GreeterServer))
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .into_future(),
            );
            let mut grpc = tonic::client::Grpc::with_origin(grpc_channel(), format!("http://{addr}").parse().unwrap());
            grpc.ready().await.unwrap();
            let path = http::uri::PathAndQuery::from_static("/demo.Greeter/Nope");
            let codec: tonic_prost::ProstCodec<HelloRequest, HelloReply> = tonic_prost::ProstCodec::default();
            let status = grpc
                .unary(Request::new(HelloRequest { name: "x".into() }), path, codec)
                .await
                .unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unimplemented);
            drop(grpc);
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
        });
    });
}
