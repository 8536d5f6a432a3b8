using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Timeout;

namespace Kombo.Worker.KomboApi;

/// <summary>Typed client for the Kombo Connect endpoints; every call runs through the Kombo resilience pipeline.</summary>
internal sealed class KomboClient(
    HttpClient http,
    ResiliencePipelineProvider<string> pipelines,
    IOptions<KomboOptions> options,
    TimeProvider time,
    ILogger<KomboClient> logger)
{
    private readonly ResiliencePipeline<KomboResponse> _pipeline = pipelines.GetPipeline<KomboResponse>(KomboPipeline.Name);

    public Task<KomboResult<CreatedLink>> CreateLinkAsync(CreateLinkRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, KomboJson.Default.CreateLinkRequest);
        return SendAsync("create-link", () => Post("connect/create-link", body), KomboJson.Default.CreatedLinkSuccess,
            link => !string.IsNullOrEmpty(link.Link), cancellationToken);
    }

    /// <summary><c>POST /integrations/{integration_id}/relink</c>: a link to re-enter an integration's credentials.</summary>
    public Task<KomboResult<CreatedLink>> RelinkAsync(string integrationId, RelinkRequest request, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(integrationId);
        ArgumentNullException.ThrowIfNull(request);
        var path = "integrations/" + Uri.EscapeDataString(CheckPathSegment(integrationId, nameof(integrationId))) + "/relink";
        var body = JsonSerializer.SerializeToUtf8Bytes(request, KomboJson.Default.RelinkRequest);
        return SendAsync("relink", () => Post(path, body), KomboJson.Default.CreatedLinkSuccess,
            link => !string.IsNullOrEmpty(link.Link), cancellationToken);
    }

    public Task<KomboResult<ConnectedIntegration>> GetIntegrationByTokenAsync(string token, CancellationToken cancellationToken)
    {
        var path = "connect/integration-by-token/" + Uri.EscapeDataString(CheckToken(token));
        return SendAsync("integration-by-token", () => new HttpRequestMessage(HttpMethod.Get, path),
            KomboJson.Default.ConnectedIntegrationSuccess, IsComplete, cancellationToken);
    }

    public Task<KomboResult<ConnectedIntegration>> ActivateIntegrationAsync(string token, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new ActivateIntegrationRequest(CheckToken(token)), KomboJson.Default.ActivateIntegrationRequest);
        return SendAsync("activate-integration", () => Post("connect/activate-integration", body),
            KomboJson.Default.ConnectedIntegrationSuccess, IsComplete, cancellationToken);
    }

    /// <summary><c>GET /check-api-key</c>: whether Kombo accepts the worker's key.</summary>
    public Task<KomboResult<ApiKeyEnvironment>> CheckApiKeyAsync(CancellationToken cancellationToken) =>
        SendAsync("check-api-key", () => new HttpRequestMessage(HttpMethod.Get, "check-api-key"),
            KomboJson.Default.ApiKeyEnvironmentSuccess, _ => true, cancellationToken);

    private async Task<KomboResult<T>> SendAsync<T>(
        string endpoint,
        Func<HttpRequestMessage> createRequest,
        JsonTypeInfo<KomboSuccess<T>> successType,
        Func<T, bool> isComplete,
        CancellationToken cancellationToken)
        where T : class
    {
        var call = new KomboCall(endpoint, time.GetUtcNow() + options.Value.TotalTimeout, cancellationToken);
        using var activity = KomboCallTelemetry.Start(endpoint);
        try
        {
            var result = await CallAsync(call, createRequest, successType, isComplete, cancellationToken);
            KomboCallTelemetry.Answered(activity, call, result.Error);
            return result;
        }
        catch (Exception ex) when (activity is not null)
        {
            KomboCallTelemetry.Threw(activity, call, ex);
            throw;
        }
    }

    private async Task<KomboResult<T>> CallAsync<T>(
        KomboCall call,
        Func<HttpRequestMessage> createRequest,
        JsonTypeInfo<KomboSuccess<T>> successType,
        Func<T, bool> isComplete,
        CancellationToken cancellationToken)
        where T : class
    {
        var endpoint = call.Endpoint;
        var context = ResilienceContextPool.Shared.Get(endpoint, cancellationToken);
        context.Properties.Set(KomboCall.Key, call);
        KomboResponse response;
        try
        {
            response = await _pipeline.ExecuteAsync(
                static (ctx, state) => state.Client.AttemptAsync(state.Call, state.CreateRequest, ctx.CancellationToken),
                context,
                (Client: this, Call: call, CreateRequest: createRequest));
        }
        catch (BrokenCircuitException ex)
        {
            throw Unavailable(call, "the circuit breaker is open after repeated failures", ex);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && KomboFailureClassifier.IsTransient(ex))
        {
            throw Unavailable(call, ex is TimeoutRejectedException ? "timed out" : $"network error ({ex.GetType().Name})", ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        if (response.Error is { } error)
        {
            if (KomboFailureClassifier.IsTransient(error))
            {
                throw Unavailable(call, $"last answer {response}", null);
            }

            KomboClientLog.Rejected(logger, endpoint, error.HttpStatus, error.Code);
            return KomboResult<T>.Failure(error) with { Attempts = call.Attempts };
        }

        KomboClientLog.Succeeded(logger, endpoint, call.Attempts);
        return ReadSuccess(response.Body, successType, isComplete) with { Attempts = call.Attempts };
    }

    private async ValueTask<KomboResponse> AttemptAsync(KomboCall call, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        var attempt = ++call.Attempts;
        try
        {
            using var request = createRequest();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var answer = KomboResponse.From(response, body, time.GetUtcNow());
            if (answer.Error is { } error)
            {
                call.LastError = error;
                call.MayHaveTakenEffect |= error.HttpStatus is 500 or 502 or 504;
                KomboClientLog.AttemptFailed(logger, call.Endpoint, attempt, error.HttpStatus, error.Code, KomboFailureClassifier.IsTransient(error));
            }

            return answer;
        }
        catch (Exception ex) when (KomboFailureClassifier.IsTransient(ex))
        {
            call.MayHaveTakenEffect |= ex is not HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };
            KomboClientLog.AttemptThrew(logger, call.Endpoint, attempt, ex.GetType().Name);
            throw;
        }
        catch (OperationCanceledException) when (!call.CallerToken.IsCancellationRequested)
        {
            call.MayHaveTakenEffect = true;
            KomboClientLog.AttemptThrew(logger, call.Endpoint, attempt, "timed out");
            throw;
        }
    }

    // A 200 we cannot read is permanent: the same request would get the same body, and a half-read answer must
    // never pass for a link or a connection. Kombo's error object, if the body holds one, is kept.
    private static KomboResult<T> ReadSuccess<T>(byte[] body, JsonTypeInfo<KomboSuccess<T>> successType, Func<T, bool> isComplete)
        where T : class
    {
        try
        {
            if (JsonSerializer.Deserialize(body, successType) is { Status: "success", Data: { } data } && isComplete(data))
            {
                return KomboResult<T>.Success(data);
            }
        }
        catch (JsonException)
        {
        }

        return KomboResult<T>.Failure(KomboErrorParser.TryReadErrorObject(200, body, out var error, out _)
            ? error
            : new KomboError(200, null, null, "HTTP 200 without a readable Kombo success body", null));
    }

    private KomboUnavailableException Unavailable(KomboCall call, string reason, Exception? inner)
    {
        KomboClientLog.Unavailable(logger, call.Endpoint, call.Attempts, reason);
        return new KomboUnavailableException(
            $"Kombo {call.Endpoint} is unavailable after {call.Attempts} attempt(s): {reason}.", call.LastError, inner, call.MayHaveTakenEffect);
    }

    private static HttpRequestMessage Post(string path, byte[] body) =>
        new(HttpMethod.Post, path) { Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json", "utf-8") } } };

    // "." and ".." survive Uri.EscapeDataString and would be folded away as dot segments, sending the key elsewhere.
    private static string CheckToken(string token) => CheckPathSegment(token, nameof(token));

    private static string CheckPathSegment(string value, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value, name);
        return value is "." or ".." ? throw new ArgumentException($"A {name} cannot be '.' or '..'.", name) : value;
    }

    private static bool IsComplete(ConnectedIntegration integration) =>
        !string.IsNullOrEmpty(integration.Id)
        && !string.IsNullOrEmpty(integration.Tool)
        && !string.IsNullOrEmpty(integration.EndUserOrganizationName)
        && !string.IsNullOrEmpty(integration.SetupStatus);
}
