# The Calico for DC/OS scheduler image (the Universe package's "calico-dcos" asset).
#
#   docker build -t calico/calico-dcos:v0.5.0 .
#
# Installs the project the way ./dev and tox do: tools/wheelhouse.py first repackages
# http-parser (pymesos's dependency) as a pure-Python wheel, then pip installs the package
# against that wheelhouse. The build stage turns everything into wheels, so the final image
# installs offline and carries no build tools or sources.

FROM python:3.11-slim AS build
WORKDIR /src
COPY setup.py setup.cfg README.md ./
COPY tools/ tools/
COPY framework/ framework/
COPY installer/ installer/
COPY operator_cli/ operator_cli/
COPY web/ web/
COPY universe/ universe/
COPY devcluster/ devcluster/
RUN python tools/wheelhouse.py --out /wheels \
    && pip wheel --no-cache-dir --find-links /wheels --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels calico-dcos \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/calico-dcos --create-home calico
USER calico
WORKDIR /var/lib/calico-dcos
ENV PYTHONUNBUFFERED=1
# Marathon passes the settings as environment variables (docs/configuration.md) and the
# status port as $PORT0; `--validate-config` checks them without starting anything.
ENTRYPOINT ["python", "-m", "framework"]
