// Essaim: progressive enhancement only; every page works without it.
//
// Search as you type on the search page: each keystroke (debounced) asks
// the server for the HTML of #results-region (`partial=1`) and swaps it in;
// a newer request aborts the older one. The URL follows the search
// (replaceState while typing, pushState when a link or the sort changes the
// search), and the back button re-fetches the state it returns to.
// `document.body.dataset.searches` counts the swaps (the browser tests
// watch it to know an update happened without a page load).
'use strict';

(function () {
  var DEBOUNCE_MS = 120;

  function init() {
    var form = document.getElementById('search');
    var q = document.getElementById('q');
    var sort = document.getElementById('sort');
    var status = document.getElementById('search-status');
    if (!form || !q || !document.getElementById('results-region') ||
        !window.fetch || !window.AbortController || !window.history.pushState) {
      return;
    }
    document.body.dataset.searches = '0';
    var timer = null;
    var controller = null;
    var generation = 0;
    // Whether the current history entry was made by typing: the first
    // keystroke after a navigation pushes an entry, the next ones replace it.
    var typing = false;

    // The search parameters of the current URL with the form's text and sort.
    function formParams() {
      var params = new URLSearchParams(window.location.search);
      ['page', 'partial', 'lang'].forEach(function (name) { params.delete(name); });
      var text = q.value.trim();
      if (text) { params.set('q', text); } else { params.delete('q'); }
      if (sort && sort.value && sort.value !== 'relevance') {
        params.set('sort', sort.value);
      } else {
        params.delete('sort');
      }
      return params;
    }

    function urlOf(params) {
      var query = params.toString();
      return window.location.pathname + (query ? '?' + query : '');
    }

    // Put the form back in step with the URL (after back/forward).
    function syncForm() {
      var params = new URLSearchParams(window.location.search);
      var text = params.get('q') || '';
      if (q.value.trim() !== text) { q.value = text; }
      if (sort) { sort.value = params.get('sort') === 'newest' ? 'newest' : 'relevance'; }
    }

    // Fetch the results for `url` and swap them in; `focusWanted` says what
    // to focus afterwards (null: leave the focus where it is, in #q).
    function load(url, focusWanted) {
      if (controller) { controller.abort(); }
      controller = new AbortController();
      var mine = ++generation;
      var partial = url + (url.indexOf('?') >= 0 ? '&' : '?') + 'partial=1';
      form.setAttribute('aria-busy', 'true');
      return fetch(partial, {
        signal: controller.signal,
        headers: { 'Accept': 'text/html' },
        credentials: 'same-origin'
      }).then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.text();
      }).then(function (html) {
        if (mine !== generation) { return; }
        swap(html, focusWanted);
      }).catch(function (error) {
        if (error && error.name === 'AbortError') { return; }
        if (mine !== generation) { return; }
        // The page still works without the script: load it whole.
        if (focusWanted) { window.location.assign(url); }
      }).then(function () {
        if (mine === generation) { form.removeAttribute('aria-busy'); }
      });
    }

    function swap(html, focusWanted) {
      var region = document.getElementById('results-region');
      var template = document.createElement('template');
      template.innerHTML = html;
      var fresh = template.content.getElementById('results-region');
      if (!region || !fresh) { return; }
      region.replaceWith(fresh);
      if (fresh.dataset.title) { document.title = fresh.dataset.title; }
      var total = document.getElementById('total');
      if (status && total) { status.textContent = total.textContent.replace(/\s+/g, ' ').trim(); }
      if (focusWanted) { focusAfter(focusWanted); }
      document.body.dataset.searches = String(Number(document.body.dataset.searches || 0) + 1);
    }

    // After a facet link changed the search, focus the same value in the
    // new facets; after any other link, the count of results.
    function focusAfter(wanted) {
      var target = null;
      if (wanted.facet && wanted.value !== null) {
        var links = document.querySelectorAll('#results-region a.facet-value[data-value]');
        for (var i = 0; i < links.length && !target; i++) {
          var section = links[i].closest('[data-facet]');
          if (links[i].getAttribute('data-value') === wanted.value &&
              section && section.getAttribute('data-facet') === wanted.facet) {
            target = links[i];
          }
        }
      }
      if (!target) {
        target = document.getElementById('total');
        if (target) { target.setAttribute('tabindex', '-1'); }
      }
      if (target) { target.focus(); }
    }

    function searchSoon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var url = urlOf(formParams());
        if (url !== window.location.pathname + window.location.search) {
          if (typing) {
            window.history.replaceState({ essaim: true }, '', url);
          } else {
            window.history.pushState({ essaim: true }, '', url);
            typing = true;
          }
        }
        load(url, null);
      }, DEBOUNCE_MS);
    }

    function navigate(url, focusWanted) {
      window.clearTimeout(timer);
      typing = false;
      window.history.pushState({ essaim: true }, '', url);
      syncForm();
      load(url, focusWanted);
    }

    q.addEventListener('input', searchSoon);

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      var url = urlOf(formParams());
      if (url !== window.location.pathname + window.location.search) {
        window.history.pushState({ essaim: true }, '', url);
      }
      typing = false;
      load(url, null);
    });

    if (sort) {
      sort.addEventListener('change', function () {
        navigate(urlOf(formParams()), null);
      });
    }

    // Links inside the results (facets, filters, pages, suggestions) that
    // lead to another search are followed in place.
    document.addEventListener('click', function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey ||
          event.ctrlKey || event.shiftKey || event.altKey) { return; }
      var link = event.target.closest ? event.target.closest('a[href]') : null;
      if (!link || !link.closest('#results-region')) { return; }
      var url = new URL(link.href, window.location.href);
      if (url.origin !== window.location.origin || url.pathname !== '/' ||
          link.hasAttribute('download') || link.target) { return; }
      // A jump within the page (`#facets`) stays one.
      if (url.hash && url.search === window.location.search) { return; }
      event.preventDefault();
      var section = link.classList.contains('facet-value') ? link.closest('[data-facet]') : null;
      navigate(url.pathname + url.search, {
        facet: section ? section.getAttribute('data-facet') : null,
        value: link.getAttribute('data-value')
      });
    });

    window.addEventListener('popstate', function () {
      window.clearTimeout(timer);
      typing = false;
      syncForm();
      load(window.location.pathname + window.location.search, null);
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
