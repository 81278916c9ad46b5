/* global window, document, URLSearchParams, React, ReactDOM, GraphiQL */
// Starts GraphiQL on the page served at GET /graphql. Loaded as a file (not inline) so the page's
// Content-Security-Policy can forbid inline scripts. The endpoint is the page's own URL, so GraphiQL
// talks to the same origin and path it was loaded from.
(function () {
  'use strict';
  var container = document.getElementById('graphiql');
  var params = new URLSearchParams(window.location.search);
  var endpoint = window.location.origin + window.location.pathname;
  var props = {
    fetcher: GraphiQL.createFetcher({ url: endpoint }),
    defaultEditorToolsVisibility: true,
    defaultQuery: [
      '# GraphEx: one GraphQL API for the whole exchange.',
      '# Market data is public; for your own data add a header {"Authorization": "Bearer <accessToken>"}',
      '# (from the register or login mutation) in the Headers tab below.',
      '',
      'query Markets {',
      '  markets {',
      '    symbol',
      '    tickSize',
      '    lotSize',
      '  }',
      '}',
      '',
    ].join('\n'),
  };
  // /graphql?query=...&variables=... (a shared link) opens with that operation.
  if (params.has('query')) props.query = params.get('query');
  if (params.has('variables')) props.variables = params.get('variables');
  if (params.has('operationName')) props.operationName = params.get('operationName');
  container.textContent = '';
  ReactDOM.createRoot(container).render(React.createElement(GraphiQL, props));
})();
