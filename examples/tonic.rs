//! A tonic gRPC service on gpm, and a client. `cargo run --release --example
//! tonic` serves on 127.0.0.1:50051 (or the address given); `-- --check`
//! serves on a free port, calls itself once through the client and exits.
//! The `greeter` module below is what `tonic-build` generates from a
//! `.proto` file, written out so that no `protoc` is needed.
use greeter::{Greeter, GreeterClient, GreeterServer, HelloReply, HelloRequest};
use tonic::{Request, Response, Status};

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let message = format!("Hello, {}!", request.into_inner().name);
        Ok(Response::new(HelloReply { message }))
    }
}

#[gpm::main]
async fn main() -> std::io::Result<()> {
    let check = std::env::args().nth(1).filter(|a| a == "--check").is_some();
    let addr = match std::env::args().nth(1) {
        Some(addr) if !check => addr,
        _ if check => "127.0.0.1:0".into(),
        _ => "127.0.0.1:50051".into(),
    };
    let listener = gpm::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    let server = gpm_compat::serve(listener, tonic::service::Routes::new(GreeterServer::new(MyGreeter)));
    match check {
        // Serves until one call through the client has been answered.
        true => server.with_graceful_shutdown(call(addr)).await,
        false => server.await,
    }
}

/// The client: hyper-util's pooled client on gpm is tonic's channel.
async fn call(addr: std::net::SocketAddr) {
    let channel = hyper_util::client::legacy::Client::builder(gpm_compat::GpmExecutor::current())
        .timer(gpm_compat::GpmTimer::new())
        .http2_only(true)
        .build(gpm_compat::GpmConnector::new());
    let mut client = GreeterClient::with_origin(channel, format!("http://{addr}").parse().unwrap());
    let reply = client.say_hello(HelloRequest { name: "gopher".into() }).await.unwrap();
    println!("{}", reply.into_inner().message);
}

/// What `tonic-build` generates for `service Greeter { rpc SayHello
/// (HelloRequest) returns (HelloReply); }`, cut down to what this example
/// uses.
mod greeter {
    use std::convert::Infallible;
    use std::future::Future;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use tonic::codegen::{http, Body, BoxFuture, Bytes, Service, StdError};
    use tonic::server::{Grpc, NamedService, UnaryService};
    use tonic::{Request, Response, Status};

    /// `message HelloRequest { string name = 1; }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct HelloRequest {
        /// Who to greet.
        #[prost(string, tag = "1")]
        pub(crate) name: String,
    }

    /// `message HelloReply { string message = 1; }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct HelloReply {
        /// The greeting.
        #[prost(string, tag = "1")]
        pub(crate) message: String,
    }

    /// The service, as the server implements it.
    pub(crate) trait Greeter: Send + Sync + 'static {
        /// `rpc SayHello(HelloRequest) returns (HelloReply);`
        fn say_hello(
            &self,
            request: Request<HelloRequest>,
        ) -> impl Future<Output = Result<Response<HelloReply>, Status>> + Send;
    }

    /// The server: routes `/greeter.Greeter/SayHello` to a [`Greeter`].
    pub(crate) struct GreeterServer<T>(Arc<T>);

    impl<T> GreeterServer<T> {
        /// Serves `inner`.
        pub(crate) fn new(inner: T) -> Self {
            GreeterServer(Arc::new(inner))
        }
    }

    impl<T> Clone for GreeterServer<T> {
        fn clone(&self) -> Self {
            GreeterServer(self.0.clone())
        }
    }

    impl<T> NamedService for GreeterServer<T> {
        const NAME: &'static str = "greeter.Greeter";
    }

    struct SayHello<T>(Arc<T>);

    impl<T: Greeter> UnaryService<HelloRequest> for SayHello<T> {
        type Response = HelloReply;
        type Future = BoxFuture<Response<HelloReply>, Status>;

        fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
            let inner = self.0.clone();
            Box::pin(async move { inner.say_hello(request).await })
        }
    }

    impl<T: Greeter, B> Service<http::Request<B>> for GreeterServer<T>
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
            let inner = self.0.clone();
            match req.uri().path() {
                "/greeter.Greeter/SayHello" => Box::pin(async move {
                    let mut grpc = Grpc::new(tonic_prost::ProstCodec::default());
                    Ok(grpc.unary(SayHello(inner), req).await)
                }),
                _ => Box::pin(async move { Ok(Status::unimplemented("").into_http()) }),
            }
        }
    }

    /// The client, over any HTTP/2 `tower::Service` (here hyper-util's
    /// client on gpm).
    pub(crate) struct GreeterClient<T>(tonic::client::Grpc<T>);

    impl<T> GreeterClient<T>
    where
        T: tonic::client::GrpcService<tonic::body::Body>,
        T::Error: Into<StdError>,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        /// Calls the server at `origin` (`http://host:port`) through `inner`.
        pub(crate) fn with_origin(inner: T, origin: http::Uri) -> Self {
            GreeterClient(tonic::client::Grpc::with_origin(inner, origin))
        }

        /// `rpc SayHello(HelloRequest) returns (HelloReply);`
        pub(crate) async fn say_hello(&mut self, request: HelloRequest) -> Result<Response<HelloReply>, Status> {
            self.0
                .ready()
                .await
                .map_err(|e| Status::unknown(format!("service was not ready: {}", e.into())))?;
            let path = http::uri::PathAndQuery::from_static("/greeter.Greeter/SayHello");
            self.0
                .unary(Request::new(request), path, tonic_prost::ProstCodec::default())
                .await
        }
    }
}
