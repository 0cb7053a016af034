from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mysetlist.core.clients import client_ip
from mysetlist.core.ids import IdField
from mysetlist.core.pagination import LimitOffsetPagination, get_paginated_response
from mysetlist.core.schema import errors
from mysetlist.core.throttling import ScopedRateThrottle

from . import selectors, services
from .models import Show


class ArtistOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    song_count = serializers.IntegerField()
    show_count = serializers.IntegerField()


class ArtistListApi(APIView):
    pagination_class = LimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ArtistListFilter"

        name = serializers.CharField(required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: ArtistOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        artists = selectors.artist_list(filters=filters.validated_data)
        return get_paginated_response(
            serializer_class=ArtistOutputSerializer, queryset=artists, request=request, view=self
        )


class ArtistDetailApi(APIView):
    @extend_schema(responses={200: ArtistOutputSerializer, **errors(404)})
    def get(self, request, artist_id):
        artist = selectors.artist_get(artist_id=artist_id)
        return Response(ArtistOutputSerializer(artist).data)


class VenueOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()
    timezone = serializers.CharField()


class ShowOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    artist = serializers.IntegerField(source="artist_id")
    artist_name = serializers.CharField(source="artist.name")
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=Show.Status.choices)
    venue = VenueOutputSerializer(allow_null=True)
    tour = serializers.CharField(source="tour.name", allow_null=True, default=None)


class ShowListApi(APIView):
    pagination_class = LimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ShowListFilter"

        artist = IdField(required=False)
        artist_slug = serializers.SlugField(required=False)
        status = serializers.MultipleChoiceField(choices=Show.Status.choices, required=False)
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)
        tour = IdField(required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: ShowOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        data["status"] = sorted(data.get("status", []))
        shows = selectors.show_list(filters=data)
        return get_paginated_response(
            serializer_class=ShowOutputSerializer, queryset=shows, request=request, view=self
        )


class ShowDetailApi(APIView):
    @extend_schema(responses={200: ShowOutputSerializer, **errors(404)})
    def get(self, request, show_id):
        return Response(ShowOutputSerializer(selectors.show_get(show_id=show_id)).data)


class BallotLineOutputSerializer(serializers.Serializer):
    song_id = serializers.IntegerField()
    title = serializers.CharField()
    upvotes = serializers.IntegerField()
    downvotes = serializers.IntegerField()
    score = serializers.IntegerField()
    version = serializers.IntegerField()
    my_vote = serializers.IntegerField(help_text="Your vote: 1, -1, or 0 for none.")
    times_played = serializers.IntegerField(help_text="Times the artist has played it.")


class ShowBallotApi(APIView):
    @extend_schema(
        summary="Every song of the show's artist with its live vote counts, best first",
        responses={200: BallotLineOutputSerializer(many=True), **errors(404)},
    )
    def get(self, request, show_id):
        show = selectors.show_get(show_id=show_id)
        ballot = selectors.show_ballot(show=show, user=request.user)
        return Response(BallotLineOutputSerializer(ballot, many=True).data)


class SetlistEntryOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    song_id = serializers.IntegerField()
    title = serializers.CharField(source="song.title")
    set_marker = serializers.CharField()
    set_number = serializers.IntegerField(allow_null=True)


class ShowSetlistApi(APIView):
    @extend_schema(
        summary="The setlist actually played, in order",
        responses={200: SetlistEntryOutputSerializer(many=True), **errors(404)},
    )
    def get(self, request, show_id):
        show = selectors.show_get(show_id=show_id)
        entries = selectors.setlist_get(show=show)
        return Response(SetlistEntryOutputSerializer(entries, many=True).data)


class SongOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    artist = serializers.IntegerField(source="artist_id")
    title = serializers.CharField()


class SongListApi(APIView):
    pagination_class = LimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SongListFilter"

        artist = IdField(required=False)
        title = serializers.CharField(required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: SongOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        songs = selectors.song_list(filters=filters.validated_data)
        return get_paginated_response(
            serializer_class=SongOutputSerializer, queryset=songs, request=request, view=self
        )


class VoteOutputSerializer(serializers.Serializer):
    show = serializers.IntegerField(source="show_id")
    song = serializers.IntegerField(source="song_id")
    value = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class TallyOutputSerializer(serializers.Serializer):
    upvotes = serializers.IntegerField()
    downvotes = serializers.IntegerField()
    score = serializers.IntegerField()
    version = serializers.IntegerField()


class VoteListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = LimitOffsetPagination

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VoteListFilter"

        show = IdField(required=False)

    @extend_schema(
        summary="Your own votes",
        parameters=[FilterSerializer],
        responses={200: VoteOutputSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        votes = selectors.vote_list(user=request.user, filters=filters.validated_data)
        return get_paginated_response(
            serializer_class=VoteOutputSerializer, queryset=votes, request=request, view=self
        )


class VoteCastApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "votes"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VoteCastInput"

        show = IdField()
        song = IdField()
        value = serializers.ChoiceField(choices=[1, -1])

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VoteCastOutput"

        vote = VoteOutputSerializer()
        tally = TallyOutputSerializer()

    @extend_schema(
        summary="Vote for a song at a show, or change your vote",
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404, 429)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vote = services.vote_cast(
            user=request.user,
            show_id=data.validated_data["show"],
            song_id=data.validated_data["song"],
            value=data.validated_data["value"],
            address=client_ip(request),
        )
        tally = selectors.vote_tally_get(show_id=vote.show_id, song_id=vote.song_id)
        return Response(self.OutputSerializer({"vote": vote, "tally": tally}).data)


class VoteDeleteApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "votes"

    @extend_schema(
        summary="Withdraw your vote on a song at a show",
        responses={204: OpenApiResponse(description="Withdrawn."), **errors(400, 401, 403, 404)},
    )
    def delete(self, request, show_id, song_id):
        services.vote_delete(user=request.user, show_id=show_id, song_id=song_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FollowListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = LimitOffsetPagination

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FollowListOutput"

        artist = serializers.IntegerField(source="artist_id")
        artist_name = serializers.CharField(source="artist.name")
        artist_slug = serializers.CharField(source="artist.slug")
        created_at = serializers.DateTimeField()

    @extend_schema(
        summary="Artists you follow",
        responses={200: OutputSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request):
        follows = selectors.follow_list(user=request.user)
        return get_paginated_response(
            serializer_class=self.OutputSerializer, queryset=follows, request=request, view=self
        )


class FollowCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FollowCreateInput"

        artist = IdField()

    @extend_schema(
        summary="Follow an artist (following twice is the same as once)",
        request=InputSerializer,
        responses={201: FollowListApi.OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        follow = services.follow_create(user=request.user, artist_id=data.validated_data["artist"])
        return Response(FollowListApi.OutputSerializer(follow).data, status=status.HTTP_201_CREATED)


class FollowDeleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Stop following an artist",
        responses={204: OpenApiResponse(description="Unfollowed."), **errors(401, 403, 404)},
    )
    def delete(self, request, artist_id):
        services.follow_delete(user=request.user, artist_id=artist_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
