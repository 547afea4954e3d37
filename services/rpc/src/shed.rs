//! Load shedding: a process serves at most a set number of calls at once. A call beyond that
//! is answered at once with RESOURCE_EXHAUSTED — the client backs off and retries — instead of
//! waiting in a queue without bound while its deadline runs out. A call holds its place until
//! its response has been sent in full, so a long tape upload or a streamed answer counts for
//! as long as it lasts. Health checks are never shed: an orchestrator's probe must answer
//! under load.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tower::{Layer, Service};

/// Tower layer that sheds calls beyond `limit` in flight.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    places: Arc<Semaphore>,
    limit: usize,
}

impl ShedLayer {
    /// At most `limit` calls at once (at least one).
    pub fn new(limit: usize) -> ShedLayer {
        let limit = limit.max(1);
        ShedLayer { places: Arc::new(Semaphore::new(limit)), limit }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = ShedService<S>;

    fn layer(&self, inner: S) -> ShedService<S> {
        ShedService { inner, places: self.places.clone(), limit: self.limit }
    }
}

/// The service [`ShedLayer`] wraps around the gRPC router.
#[derive(Debug, Clone)]
pub struct ShedService<S> {
    inner: S,
    places: Arc<Semaphore>,
    limit: usize,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S> Service<http::Request<tonic::body::Body>> for ShedService<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if request.uri().path().starts_with("/grpc.health.v1.Health/") {
            return Box::pin(inner.call(request));
        }
        let Ok(permit) = self.places.clone().try_acquire_owned() else {
            let limit = self.limit;
            tracing::warn!(method = %request.uri().path(), limit, "call shed: too many calls in flight");
            return Box::pin(async move {
                Ok(Status::resource_exhausted(format!(
                    "server busy: {limit} calls already in flight in this process; retry with back-off"
                ))
                .into_http())
            });
        };
        Box::pin(async move {
            let response = inner.call(request).await?;
            Ok(response.map(|body| tonic::body::Body::new(Held { body, _permit: permit })))
        })
    }
}

/// A response body that keeps its call's place until it ends or is dropped.
struct Held {
    body: tonic::body::Body,
    _permit: OwnedSemaphorePermit,
}

impl HttpBody for Held {
    type Data = <tonic::body::Body as HttpBody>::Data;
    type Error = <tonic::body::Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
