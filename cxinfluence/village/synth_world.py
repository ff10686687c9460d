"""The generator of a synthetic village (:class:`_Generator`): accounts, positions, occupants, ties, latent
sentiment, responses, outcomes and the tables. Part of :mod:`cxinfluence.village.synth`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import Village
from .schema import ROLES, SCORE_RANGES, VETO_BY_ROLE
from .synth_catalog import (
    _CHAMPION,
    _FIRST,
    _GROUP_SHARE,
    _LAST,
    _NODATE_HIGH,
    _NODATE_LOW,
    _PREFIX,
    _SEGMENT_WORD,
    _SUFFIX,
    _THEME_BY_ROLE,
    _TOUCHPOINT,
    COMMENT_TEMPLATES,
    REGIONS,
    SEGMENTS,
    TITLE_CATALOG,
    _by_role,
    _days,
    _group_sample,
    _ids,
    _str,
    _take_str,
    _tri_noise,
)
from .synth_params import _CHANNELS, _REVERSED, ITEMS, THEMES, Truth


class _Generator:
    """One generation run; each step fills arrays on ``self`` (vectorised over all accounts)."""

    def __init__(self, n, seed, p, start, years):
        self.n, self.seed, self.p, self.years = n, seed, p, years
        self.rng = np.random.default_rng(seed)
        bounds = pd.date_range(start, periods=4 * years + 1, freq=pd.DateOffset(months=3))
        self.qbounds = bounds.values.astype("datetime64[D]").astype(np.int64)  # quarter starts + end
        self.start, self.end = self.qbounds[0], self.qbounds[-1]
        self.period_end = self.qbounds[4 * np.arange(1, years + 1)] - 1
        self.start_ts = start

    def run(self):
        self._accounts()
        self._positions()
        self._occupants()
        self._ties()
        self._latent()
        self._responses()
        self._outcomes()
        return self._assemble()

    # ---- accounts
    def _accounts(self):
        rng, p, n = self.rng, self.p, self.n
        z = rng.standard_normal(n)
        self.revenue = np.maximum(np.round(p.revenue_median * np.exp(p.revenue_sigma * z), -1), 10.0)
        # standardised size from the revenue as written, so it can be recomputed from the village exactly
        self.size_z = np.log(self.revenue / p.revenue_median) / p.revenue_sigma
        self.segment = rng.choice(len(SEGMENTS), size=n, p=np.array(list(SEGMENTS.values())))
        region = rng.choice(len(REGIONS), size=n, p=np.array(list(REGIONS.values())))
        self.region = region
        # account managers: ceil(n_region / book) per region, uneven books
        owner = np.empty(n, dtype=np.int64)
        next_id = 0
        for r in range(len(REGIONS)):  # a handful of regions
            idx = np.flatnonzero(region == r)
            if len(idx) == 0:
                continue
            k = int(np.ceil(len(idx) / p.accounts_per_manager))
            w = rng.lognormal(0.0, 0.5, k)
            owner[idx] = next_id + rng.choice(k, size=len(idx), p=w / w.sum())
            next_id += k
        self.owner = owner
        self.n_managers = next_id

    # ---- seats
    def _positions(self):
        rng, p, n = self.rng, self.p, self.n
        size = np.exp(np.log(p.center_median) + p.center_size_slope * self.size_z + rng.normal(0, p.center_sigma, n))
        npos = np.clip(np.round(size), 3, 40).astype(np.int64)
        P = int(npos.sum())
        acc = np.repeat(np.arange(n), npos)
        first = np.concatenate([[0], np.cumsum(npos)[:-1]])
        slot = np.arange(P) - np.repeat(first, npos)
        cat = TITLE_CATALOG
        cat_group = np.array([c[4] for c in cat])
        cat_weight = np.array([c[5] for c in cat], dtype=float)
        group = np.where(slot < 5, slot, rng.choice(6, size=P, p=_GROUP_SHARE / _GROUP_SHARE.sum()))
        title = np.empty(P, dtype=np.int64)
        for g in range(6):
            members = np.flatnonzero(cat_group == g)
            w = np.ones(len(members)) if g == 0 else cat_weight[members]
            m = group == g
            title[m] = rng.choice(members, size=int(m.sum()), p=w / w.sum())
        role_code = np.array([ROLES.index(c[1]) for c in cat])[title]
        depts = sorted({c[2] for c in cat})
        dept_code = np.array([depts.index(c[2]) for c in cat])[title]
        level = np.array([c[3] for c in cat])[title]
        power = (_by_role(p.role_power, role_code) * np.asarray(p.level_power)[level]
                 * rng.lognormal(0.0, p.power_sigma, P))
        total = np.bincount(acc, power, minlength=n)
        vprob = np.where(slot == 0, p.top_veto_prob, _by_role(p.veto_prob, role_code))
        self.npos, self.pfirst, self.P = npos, first, P
        self.pacc, self.pslot, self.ptitle = acc, slot, title
        self.prole, self.pdept, self.plevel = role_code, dept_code, level
        self.depts = depts
        self.ppower = power
        self.pinfluence = power / total[acc]
        self.pveto = rng.random(P) < vprob
        # org chart: within (account, department) order by level; report to the next higher level
        order = np.lexsort((slot, level, dept_code, acc))
        a_s, d_s, l_s = acc[order], dept_code[order], level[order]
        new_group = np.ones(P, dtype=bool)
        new_group[1:] = (a_s[1:] != a_s[:-1]) | (d_s[1:] != d_s[:-1])
        new_level = new_group.copy()
        new_level[1:] |= l_s[1:] != l_s[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(P), 0))
        level_start = np.maximum.accumulate(np.where(new_level, np.arange(P), 0))
        prev_level_start = np.zeros(P, dtype=np.int64)
        has_prev = level_start > group_start
        prev_level_start[has_prev] = level_start[level_start[has_prev] - 1]
        span = level_start - prev_level_start
        pick = prev_level_start + np.floor(rng.random(P) * np.maximum(span, 1)).astype(np.int64)
        root = first[a_s]
        manager_sorted = np.where(has_prev, order[np.minimum(pick, P - 1)], root)
        manager = np.empty(P, dtype=np.int64)
        manager[order] = manager_sorted
        manager[first] = -1  # the top decider reports to nobody here
        self.pmanager = manager
        # influence_rating: the account team's noisy view of power (percentile within account)
        rank_order = np.lexsort((power, acc))
        rank = np.empty(P, dtype=np.int64)
        rank[rank_order] = np.arange(P)
        pct = (rank - first[acc]) / np.maximum(npos[acc] - 1, 1)
        rating = np.clip(np.round(1 + 4 * pct + rng.normal(0, p.rating_noise, P)), 1, 5)
        self.prating = np.where(rng.random(P) < p.rating_blank, np.nan, rating)

    # ---- people in seats over time
    def _occupants(self):
        rng, p = self.rng, self.p
        P, start, end = self.P, self.start, self.end
        rate = p.turnover_rate / 365.25
        pos_list, join_list, leave_list, gen_list = [], [], [], []
        seats = np.arange(P)
        tenure_before = np.round(rng.exponential(6 * 365.25, P)).astype(np.int64) + 1
        join = np.where(rng.random(P) < 0.2, _NODATE_LOW, start - tenure_before)
        t0 = np.full(P, start, dtype=np.int64)
        gen = 0
        while len(seats):
            dur = (np.ceil(rng.exponential(1 / rate, len(seats))).astype(np.int64) if rate > 0
                   else np.full(len(seats), _NODATE_HIGH))
            leave = np.where(rate > 0, t0 + np.maximum(dur, 1), _NODATE_HIGH)
            leave = np.where(leave >= end, _NODATE_HIGH, leave)
            pos_list.append(seats)
            join_list.append(join)
            leave_list.append(leave)
            gen_list.append(np.full(len(seats), gen))
            more = leave < end
            seats, join, t0 = seats[more], leave[more], leave[more]
            gen += 1
        pos = np.concatenate(pos_list)
        order = np.lexsort((np.concatenate(gen_list), pos))  # by seat (hence account), then generation
        self.spos = pos[order]
        self.sjoin = np.concatenate(join_list)[order]
        self.sleave = np.concatenate(leave_list)[order]
        self.sgen = np.concatenate(gen_list)[order]
        self.S = len(self.spos)
        self.sacc = self.pacc[self.spos]
        self.srole = self.prole[self.spos]
        self.occ_count = np.bincount(self.spos, minlength=P)
        self.occ_first = np.concatenate([[0], np.cumsum(self.occ_count)[:-1]])
        # quarter in which each person joined (first occupants: 0)
        self.sjq = np.clip(np.searchsorted(self.qbounds, self.sjoin, side="right") - 1, 0, 4 * self.years - 1)

    # ---- ties between people
    def _ties(self):
        rng, p = self.rng, self.p
        # seat-level reports_to
        child = np.flatnonzero(self.pmanager >= 0)
        src = [child]
        dst = [self.pmanager[child]]
        kind = [np.zeros(len(child), dtype=np.int8)]
        wgt = [np.ones(len(child))]
        # seat-level influences: sources and targets weighted by power
        m = np.round(p.influence_ties_per_person * self.npos).astype(np.int64)
        tie_acc = np.repeat(np.arange(self.n), m)
        gs, gn = self.pfirst[tie_acc], self.npos[tie_acc]
        s = _group_sample(rng, gs, gn, self.ppower ** p.source_power_exponent)
        t = _group_sample(rng, gs, gn, self.ppower ** p.target_power_exponent)
        keep = s != t
        pair = np.unique(s[keep] * self.P + t[keep])
        s, t = pair // self.P, pair % self.P
        src.append(s)
        dst.append(t)
        kind.append(np.ones(len(s), dtype=np.int8))
        wgt.append(rng.choice([1.0, 2.0, 3.0], size=len(s), p=[0.5, 0.3, 0.2]))
        es, et = np.concatenate(src), np.concatenate(dst)
        ek, ew = np.concatenate(kind), np.concatenate(wgt)
        # expand to people whose tenures overlap
        cs, ct = self.occ_count[es], self.occ_count[et]
        c = cs * ct
        rep = np.repeat(np.arange(len(es)), c)
        k = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        i = self.occ_first[es][rep] + k // ct[rep]
        j = self.occ_first[et][rep] + k % ct[rep]
        ok = (self.sjoin[i] < self.sleave[j]) & (self.sjoin[j] < self.sleave[i])
        self.tie_src, self.tie_dst = i[ok], j[ok]
        self.tie_kind, self.tie_weight = ek[rep][ok], ew[rep][ok]

    # ---- latent sentiment by person and quarter
    def _latent(self):
        rng, p = self.rng, self.p
        Q, S, n = 4 * self.years, self.S, self.n
        m = rng.normal(p.sentiment_mean, p.account_sd, n)
        A = np.zeros((n, Q))
        for q in range(1, Q):
            A[:, q] = p.account_ar * A[:, q - 1] + rng.normal(0, p.account_shock_sd, n)
        base = (m[self.sacc] + _by_role(p.role_shift, self.srole)).astype(np.float32)
        latent = np.empty((S, Q), dtype=np.float32)
        innov = np.float32(np.sqrt(1 - p.person_ar ** 2) * p.person_sd)
        u = rng.standard_normal(S, dtype=np.float32) * np.float32(p.person_sd)
        fresh_start = (self.sgen > 0)
        for q in range(Q):
            if q:
                u = np.float32(p.person_ar) * u + innov * rng.standard_normal(S, dtype=np.float32)
            new = fresh_start & (self.sjq == q)
            u[new] = np.float32(p.newcomer_shift) + np.float32(p.person_sd) * rng.standard_normal(
                int(new.sum()), dtype=np.float32)
            latent[:, q] = np.tanh(base + A[self.sacc, q].astype(np.float32) + u)
        self.latent = latent

    # ---- feedback
    def _responses(self):
        """Every response: who and when (survey waves, informal comments, interviews), the items answered,
        the comment and its touchpoint, the journey stage. The steps draw from ``self.rng`` in a fixed order."""
        sid, day, chan = self._response_times()
        s, items, tone = self._response_items(sid, day, chan)
        theme, has_comment, comment = self._response_comments(sid, day, chan, tone)
        # touchpoint: the comment's theme; otherwise the channel's default
        tp_names = [_TOUCHPOINT[t] for t in THEMES] + ["relationship survey", "business review"]
        tp = np.where(has_comment | (chan == 1), theme, np.where(chan == 0, len(THEMES), len(THEMES) + 1))
        stages, stage = self._journey_stages(sid, day, chan, tone, items)
        self.r = dict(sid=sid, day=day, chan=chan, items=items, latent=s, comment=comment, tp=tp, tp_names=tp_names,
                      stage=stage, stages=stages)

    def _response_times(self):
        """Who answered when, by channel (0 survey, 1 informal, 2 interview), sorted by date then person."""
        rng, p = self.rng, self.p
        sid, day, chan = [], [], []
        # survey waves: everyone active at the wave opening is invited
        propensity = 2.0 * rng.beta(2.0, 2.0, self.S)
        rate = np.minimum(_by_role(p.survey_rate, self.srole) * propensity, 0.95)
        n_waves = self.years * p.waves_per_year
        wave_open = pd.Timestamp(self.start_ts) + pd.to_timedelta(
            (np.arange(n_waves) + 0.25) * 365.25 / p.waves_per_year, unit="D")
        for w in wave_open.values.astype("datetime64[D]").astype(np.int64):  # a handful of waves
            active = (self.sjoin <= w) & (self.sleave > w)
            who = np.flatnonzero(active & (rng.random(self.S) < rate))
            d = w + rng.integers(0, 21, len(who))
            ok = (d < self.sleave[who]) & (d < self.end)
            sid.append(who[ok])
            day.append(d[ok])
            chan.append(np.zeros(int(ok.sum()), dtype=np.int8))
        # informal comments and interviews: Poisson over each tenure inside the data window
        t0 = np.maximum(self.sjoin, self.start)
        t1 = np.minimum(self.sleave, self.end)
        tenure_years = np.maximum(t1 - t0, 0) / 365.25
        for code, rates in ((1, p.informal_rate), (2, p.interview_rate)):
            k = rng.poisson(_by_role(rates, self.srole) * tenure_years)
            who = np.repeat(np.arange(self.S), k)
            d = t0[who] + np.floor(rng.random(len(who)) * (t1[who] - t0[who])).astype(np.int64)
            sid.append(who)
            day.append(d)
            chan.append(np.full(len(who), code, dtype=np.int8))
        sid, day, chan = np.concatenate(sid), np.concatenate(day), np.concatenate(chan)
        order = np.argsort(day * np.int64(self.S) + sid)  # by date, then person
        return sid[order], day[order], chan[order]

    def _response_items(self, sid, day, chan):
        """The latent sentiment behind each response, the items answered (noisy measures of it on each item's
        grid) and the response's tone (0 positive, 1 mixed, 2 negative)."""
        rng, p = self.rng, self.p
        R = len(sid)
        q = np.clip(np.searchsorted(self.qbounds, day, side="right") - 1, 0, 4 * self.years - 1)
        s = self.latent[sid, q]
        # which items each response answered; a survey answer has at least the NPS question
        probs = np.array([p.item_prob[c] for c in _CHANNELS])  # channel x item
        asked = [rng.random(R, dtype=np.float32) < probs[chan, j] for j in range(len(ITEMS))]
        asked[0] |= (chan == 0) & ~np.logical_or.reduce(asked)
        # items: unbiased noisy measures of s on each item's grid
        d = np.minimum(np.float32(1.0) - np.abs(s), np.float32(p.response_noise))
        zc = _tri_noise(rng, R)
        items = {}
        scaled = np.zeros(R, dtype=np.float32)  # sum of answered items on the common scale
        count = np.zeros(R, dtype=np.float32)
        for j, item in enumerate(ITEMS):
            low, high = SCORE_RANGES[item]
            steps = high - low
            y = s + d * (np.float32(0.6) * zc + np.float32(0.4) * _tri_noise(rng, R))
            g = (y + np.float32(1.0)) * np.float32(steps / 2.0)
            lower = np.floor(g)
            level = np.clip(lower + (rng.random(R, dtype=np.float32) < (g - lower)), 0, steps)
            score = (low + steps) - level if item in _REVERSED else low + level
            items[item] = np.where(asked[j], score.astype(np.float64), np.nan)
            # on the common scale both directions give 2 * level / steps - 1
            scaled += np.where(asked[j], np.float32(2.0 / steps) * level - np.float32(1.0), np.float32(0.0))
            count += asked[j]
        del asked, y, g, lower, level, score
        # observed sentiment of the response, or a noisy latent when no item was answered
        tone_value = np.where(count > 0, scaled / np.maximum(count, 1), s + d * zc)
        tone = np.where(tone_value >= 0.45, 0, np.where(tone_value < 0.05, 2, 1)).astype(np.int8)
        return s, items, tone

    def _response_comments(self, sid, day, chan, tone):
        """The theme of each response, whether it has a comment, and the comment text."""
        rng, p = self.rng, self.p
        R = len(sid)
        role = self.srole[sid]
        # inverse-CDF draw of the theme from the role's row: rows stacked on [0, 5) and searched at once
        cum = np.cumsum(_THEME_BY_ROLE / _THEME_BY_ROLE.sum(1, keepdims=True), axis=1)
        cum[:, -1] = 1.0
        stacked = (cum + np.arange(len(ROLES))[:, None]).ravel()
        theme = np.searchsorted(stacked, role + rng.random(R), side="right") - role * len(THEMES)
        theme = np.clip(theme, 0, len(THEMES) - 1)
        has_comment = rng.random(R) < np.array([p.comment_prob[c] for c in _CHANNELS])[chan]
        texts, code_of = [], {}
        for ti, th in enumerate(THEMES):
            for to in range(3):
                for vi, txt in enumerate(COMMENT_TEMPLATES[th][to]):
                    code_of[(ti, to, vi)] = len(texts)
                    texts.append(txt)
        n_var = np.array([[len(COMMENT_TEMPLATES[th][to]) for to in range(3)] for th in THEMES])
        variant = np.floor(rng.random(R) * n_var[theme, tone]).astype(np.int64)
        lookup = np.full((len(THEMES), 3, n_var.max()), -1, dtype=np.int64)
        for (ti, to, vi), c in code_of.items():
            lookup[ti, to, vi] = c
        comment_code = np.where(has_comment, lookup[theme, tone, variant], -1)
        champ_title = self._champion_left(sid, day, tone, has_comment, theme)
        champ = champ_title >= 0
        # champion comments are extra categories: one per (template, departed title)
        n_titles = len(TITLE_CATALOG)
        champ_texts = [pre + t[0] + post for pre, post in _CHAMPION for t in TITLE_CATALOG]
        champ_code = len(texts) + np.floor(rng.random(R) * len(_CHAMPION)).astype(np.int64) * n_titles + champ_title
        comment = _take_str(texts + champ_texts, np.where(champ, champ_code, comment_code))
        return theme, has_comment, comment

    def _champion_left(self, sid, day, tone, has_comment, theme):
        """"Our champion left": for half the non-positive comments of colleagues of a key person who left 1-180
        days before, the departed person's title (-1 elsewhere); those comments' ``theme`` becomes people."""
        R = len(sid)
        key_rank = self._key_seats()
        left = np.flatnonzero((self.sleave < self.end) & key_rank[self.spos])
        champ_title = np.full(R, -1, dtype=np.int64)
        if len(left):
            # latest key departure in the same account, 1-180 days before the response
            dep_key = self.sacc[left] * np.int64(1 << 32) + self.sleave[left]
            dorder = np.argsort(dep_key)
            dep_key, dep_title = dep_key[dorder], self.ptitle[self.spos[left]][dorder]
            cand = np.flatnonzero(has_comment & (tone > 0))
            ckey = self.sacc[sid[cand]] * np.int64(1 << 32) + day[cand]
            j = np.searchsorted(dep_key, ckey, side="left") - 1  # strictly before the response day
            jj = np.maximum(j, 0)
            gap = ckey - dep_key[jj]
            hit = (j >= 0) & (gap >= 1) & (gap <= 180) & (self.rng.random(len(cand)) < 0.5)
            rows = cand[hit]
            champ_title[rows] = dep_title[jj[hit]]
            theme[rows] = THEMES.index("people")
        return champ_title

    def _journey_stages(self, sid, day, chan, tone, items):
        """The journey stage of each response (renewal near a period end, consideration/awareness for newcomers,
        advocacy for some happy promoters, 5% blank): ``(stage names, stage codes)``."""
        rng = self.rng
        R = len(sid)
        role = self.srole[sid]
        stages = ("awareness", "consideration", "decision", "retention", "advocacy", "renewal")
        since_join = day - self.sjoin[sid]
        nxt = np.searchsorted(self.period_end, day, side="left")
        to_end = np.where(nxt < len(self.period_end),
                          self.period_end[np.minimum(nxt, len(self.period_end) - 1)] - day, 10**6)
        stage = np.full(R, stages.index("retention"))
        stage[(tone == 0) & (items["nps"] >= 9) & (rng.random(R) < 0.3)] = stages.index("advocacy")
        in_renewal = to_end < 60
        stage[in_renewal] = stages.index("renewal")
        stage[in_renewal & (chan == 2) & np.isin(role, [0, 1])] = stages.index("decision")
        newcomer = self.sgen[sid] > 0
        stage[newcomer & (since_join < 180)] = stages.index("consideration")
        stage[newcomer & (since_join < 90)] = stages.index("awareness")
        stage[rng.random(R) < 0.05] = -1
        return stages, stage

    def _key_seats(self):
        """The two most powerful seats of each account (whose departure colleagues notice)."""
        order = np.lexsort((-self.ppower, self.pacc))
        rank = np.empty(self.P, dtype=np.int64)
        rank[order] = np.arange(self.P) - self.pfirst[self.pacc[order]]
        return rank < 2

    # ---- outcomes
    def _outcomes(self):
        rng, p, n = self.rng, self.p, self.n
        rows = []
        for k, T in enumerate(self.period_end):  # one pass per year
            active = np.flatnonzero((self.sjoin <= T) & (self.sleave > T))  # one person per seat
            q0, q1 = 4 * k, 4 * k + 4
            lo = np.maximum(self.sjq[active], q0)
            sub = self.latent[active, q0:q1].astype(np.float64)
            use = np.arange(q0, q1)[None, :] >= lo[:, None]
            x = (sub * use).sum(1) / use.sum(1)
            acc = self.sacc[active]
            pos = self.spos[active]
            w = self.pinfluence[pos]
            cnt = np.bincount(acc, minlength=n)
            mean = np.bincount(acc, x, minlength=n) / cnt
            infl = np.bincount(acc, w * x, minlength=n)
            role = self.srole[active]
            sent_r = np.full((n, len(ROLES)), np.nan)
            for r in range(len(ROLES)):
                m = role == r
                c = np.bincount(acc[m], minlength=n)
                with np.errstate(invalid="ignore", divide="ignore"):
                    sent_r[:, r] = np.where(c > 0, np.bincount(acc[m], x[m], minlength=n) / np.maximum(c, 1), np.nan)
            eff = np.array([p.role_effects[r] for r in ROLES])
            present = ~np.isnan(sent_r)
            rho = np.where(present, eff, 0.0)
            rho = rho / rho.sum(1, keepdims=True)
            roles_s = np.nansum(rho * np.nan_to_num(sent_r), axis=1)
            S = {"influence": infl, "mean": mean, "roles": roles_s}[p.world]
            vmin = np.full(n, np.inf)
            vm = self.pveto[pos]
            np.minimum.at(vmin, acc[vm], x[vm])
            vmin[np.isinf(vmin)] = np.nan
            V = np.nan_to_num(vmin, nan=np.inf) < p.veto_threshold
            lin = p.intercept + p.sentiment_effect * S + p.veto_effect * V + p.size_effect * self.size_z
            prob = 1.0 / (1.0 + np.exp(-lin))
            renewed = rng.random(n) < prob
            eb = self.revenue * np.exp(p.bookings_intercept + p.bookings_sentiment * S + p.bookings_sigma ** 2 / 2)
            bookings = np.where(renewed, np.round(self.revenue * np.exp(p.bookings_intercept + p.bookings_sentiment * S
                                                                        + rng.normal(0, p.bookings_sigma, n)), 2), 0.0)
            rows.append(dict(k=k, S=S, mean=mean, infl=infl, sent_r=sent_r, vmin=vmin, V=V, lin=lin, prob=prob,
                             renewed=renewed, bookings=bookings, eb=eb))
        self.out = rows
        del self.latent  # the largest array; not needed any more

    # ---- tables
    def _assemble(self):
        """The village's tables and the truth behind them (the account and stakeholder tables draw names from
        ``self.rng``, in this order)."""
        p, n = self.p, self.n
        acc_ids = _ids("A", n)
        accounts = self._accounts_table(acc_ids)
        stakeholders, sids, true_veto = self._stakeholders_table(acc_ids)
        relationships = pd.DataFrame({
            "source_id": sids.take(self.tie_src).reset_index(drop=True),
            "target_id": sids.take(self.tie_dst).reset_index(drop=True),
            "kind": _take_str(["reports_to", "influences"], self.tie_kind),
            "weight": self.tie_weight.astype(np.float64),
        })
        del self.tie_src, self.tie_dst, self.tie_kind, self.tie_weight  # keep the peak memory down
        r, self.r = self.r, None
        responses = self._responses_table(r, sids)
        K = len(self.out)
        outcomes = pd.DataFrame({
            "account_id": acc_ids.take(np.tile(np.arange(n), K)).reset_index(drop=True),
            "period_end": _days(np.repeat(self.period_end, n)),
            "renewed": np.concatenate([o["renewed"] for o in self.out]).astype(np.float64),
            "bookings": np.concatenate([o["bookings"] for o in self.out]),
        })
        village = Village(accounts=accounts, stakeholders=stakeholders, relationships=relationships,
                          responses=responses, outcomes=outcomes,
                          source=f"make_village(n_accounts={n}, seed={self.seed}, truth={p.world!r})")
        t_resp = pd.DataFrame({"response_id": responses["response_id"], "stakeholder_id": responses["stakeholder_id"],
                               "date": responses["date"], "latent_sentiment": r["latent"].astype(np.float64)})
        meta = {"n_accounts": n, "seed": self.seed, "start": str(self.start_ts.date()), "years": self.years}
        return village, Truth(params=p, stakeholders=self._true_stakeholders(stakeholders, sids, true_veto),
                              accounts=self._true_accounts(outcomes), responses=t_resp, meta=meta)

    def _accounts_table(self, acc_ids):
        """``accounts``: ids, invented names (a prefix, a segment word, a suffix), segment, region, owner, revenue."""
        n, rng = self.n, self.rng
        seg_names = list(SEGMENTS)
        table = np.array([[_SEGMENT_WORD[s][i % len(_SEGMENT_WORD[s])] for i in range(3)] for s in seg_names],
                         dtype=object)
        words = table[self.segment, rng.integers(0, 3, n)]
        names = (np.array(_PREFIX, dtype=object)[rng.integers(0, len(_PREFIX), n)] + " " + words + " "
                 + np.array(_SUFFIX, dtype=object)[rng.integers(0, len(_SUFFIX), n)])
        mgr_names = (np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), self.n_managers)] + " "
                     + np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), self.n_managers)])
        return pd.DataFrame({
            "account_id": acc_ids,
            "name": _str(names),
            "segment": _take_str(seg_names, self.segment),
            "region": _take_str(list(REGIONS), self.region),
            "owner": _take_str(list(mgr_names), self.owner),
            "annual_revenue": self.revenue.astype(np.float64),
        })

    def _stakeholders_table(self, acc_ids):
        """``stakeholders`` (roles and veto flags as the data has them: some blank and filled from the title or
        the role); returns ``(table, stakeholder ids, true veto flags)``."""
        p, rng, S = self.p, self.rng, self.S
        sids = _ids("S", S)
        titles = [c[0] for c in TITLE_CATALOG]
        stitle = self.ptitle[self.spos]
        cat_role = np.array([ROLES.index(c[1]) for c in TITLE_CATALOG])
        cat_dept = np.array([self.depts.index(c[2]) for c in TITLE_CATALOG])
        role_blank = rng.random(S) < p.role_blank
        veto_blank = rng.random(S) < p.veto_blank
        true_veto = self.pveto[self.spos]
        default_veto = np.array([VETO_BY_ROLE[r] for r in ROLES])[self.srole]
        first = rng.integers(0, len(_FIRST), S)
        last = rng.integers(0, len(_LAST), S)
        name_codes = first * len(_LAST) + last
        all_names = [f"{a} {b}" for a in _FIRST for b in _LAST]
        stakeholders = pd.DataFrame({
            "stakeholder_id": sids,
            "account_id": acc_ids.take(self.sacc).reset_index(drop=True),
            "name": _take_str(all_names, name_codes),
            "title": _take_str(titles, stitle),
            "department": _take_str(self.depts, cat_dept[stitle]),
            "role": _take_str(list(ROLES), cat_role[stitle]),
            "veto": np.where(veto_blank, default_veto, true_veto),
            "influence_rating": self.prating[self.spos],
            "active_from": _days(self.sjoin),
            "active_to": _days(self.sleave),
            "role_source": _take_str(["data", "title"], role_blank.astype(np.int64)),
            "veto_source": _take_str(["data", "role"], veto_blank.astype(np.int64)),
        })
        return stakeholders, sids, true_veto

    def _responses_table(self, r, sids):
        """``responses`` from the arrays of :meth:`_responses` (emptied as they are copied, to save memory)."""
        R = len(r["sid"])
        responses = pd.DataFrame({"response_id": _ids("R", R),
                                  "stakeholder_id": sids.take(r["sid"]).reset_index(drop=True),
                                  "date": _days(r["day"])})
        for item in ITEMS:
            responses[item] = r["items"].pop(item)
        responses["channel"] = _take_str(_CHANNELS, r["chan"])
        responses["journey_stage"] = _take_str(r["stages"], r["stage"])
        responses["touchpoint"] = _take_str(r["tp_names"], r["tp"])
        responses["comment"] = r.pop("comment")
        return responses

    def _true_stakeholders(self, stakeholders, sids, true_veto):
        """The truth per stakeholder: position, true role, level, veto, power, influence, generation."""
        return pd.DataFrame({
            "stakeholder_id": sids,
            "account_id": stakeholders["account_id"],
            "position_id": _ids("P", self.P).take(self.spos).reset_index(drop=True),
            "role": _take_str(list(ROLES), self.srole),
            "department": stakeholders["department"],
            "level": self.plevel[self.spos],
            "veto": true_veto,
            "power": self.ppower[self.spos],
            "true_influence": self.pinfluence[self.spos],
            "generation": self.sgen,
            "active_from": stakeholders["active_from"],
            "active_to": stakeholders["active_to"],
        })

    def _true_accounts(self, outcomes):
        """The truth per account and period: the sentiments, the veto, the renewal probability and bookings."""
        K = len(self.out)
        t_acc = pd.DataFrame({
            "account_id": outcomes["account_id"],
            "period_end": outcomes["period_end"],
            "sentiment": np.concatenate([o["S"] for o in self.out]),
            "mean_sentiment": np.concatenate([o["mean"] for o in self.out]),
            "influence_sentiment": np.concatenate([o["infl"] for o in self.out]),
            **{f"sent_{role}": np.concatenate([o["sent_r"][:, j] for o in self.out]) for j, role in enumerate(ROLES)},
            "veto_min": np.concatenate([o["vmin"] for o in self.out]),
            "veto_triggered": np.concatenate([o["V"] for o in self.out]),
            "size_z": np.tile(self.size_z, K),
            "linear_predictor": np.concatenate([o["lin"] for o in self.out]),
            "renewal_probability": np.concatenate([o["prob"] for o in self.out]),
            "expected_bookings_if_renewed": np.concatenate([o["eb"] for o in self.out]),
        })
        t_acc["expected_bookings"] = t_acc["renewal_probability"] * t_acc["expected_bookings_if_renewed"]
        return t_acc
